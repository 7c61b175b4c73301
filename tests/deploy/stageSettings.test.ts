import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PackagedService, packageService } from '../support/serverlessPackage.ts';

/**
 * The stage settings that must never fall back to a developer's defaults: a stage other than dev
 * packages only with JWT_ISSUER and JWT_AUDIENCE given (deploy/stageSettings.cjs), and dev still
 * packages with nothing set at all. The prod template with every setting given is checked in
 * package.test.ts.
 */
const ISSUER = 'https://issuer.example.com/';
const AUDIENCE = 'order-management-api-prod';

/** The output of a run that must have failed. */
function errorOf(packaged: PackagedService): string {
  expect(packaged.ok, packaged.output).toBe(false);
  return packaged.output;
}

describe('stage settings a deployed stage must be given', () => {
  const runs: PackagedService[] = [];
  async function packageOnce(stage: string, env: Record<string, string>): Promise<PackagedService> {
    const packaged = await packageService(stage, env);
    runs.push(packaged);
    return packaged;
  }

  afterAll(async () => {
    for (const packaged of runs) await packaged.cleanup();
  });

  it('refuses to package prod without JWT_ISSUER, naming it and no other setting', async () => {
    const output = errorOf(await packageOnce('prod', { JWT_AUDIENCE: AUDIENCE }));
    expect(output).toContain('Stage "prod" needs JWT_ISSUER in the environment');
    expect(output).not.toContain('JWT_AUDIENCE');
    expect(output).not.toMatch(/\n\s+at /);
  });

  it('refuses to package prod without JWT_AUDIENCE, naming it', async () => {
    const output = errorOf(await packageOnce('prod', { JWT_ISSUER: ISSUER }));
    expect(output).toContain('Stage "prod" needs JWT_AUDIENCE in the environment');
    expect(output).not.toContain('JWT_ISSUER');
  });

  it('refuses any stage but dev with neither, naming both (a staging stage gets no developer defaults either)', async () => {
    const output = errorOf(await packageOnce('staging', {}));
    expect(output).toContain('Stage "staging" needs JWT_ISSUER and JWT_AUDIENCE in the environment');
  });

  it('refuses a localhost CORS origin and an origin with a path for a deployed stage', async () => {
    const local = errorOf(
      await packageOnce('prod', { JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, CORS_ORIGINS: 'http://localhost:5173' }),
    );
    expect(local).toContain('CORS_ORIGINS for stage "prod": "http://localhost:5173" is a local origin');
    const withPath = errorOf(
      await packageOnce('prod', {
        JWT_ISSUER: ISSUER,
        JWT_AUDIENCE: AUDIENCE,
        CORS_ORIGINS: 'https://app.example.com/',
      }),
    );
    expect(withPath).toContain('write "https://app.example.com"');
  });

  describe('dev with no settings at all', () => {
    let dev: PackagedService;
    beforeAll(async () => {
      dev = await packageOnce('dev', {});
    }, 240_000);

    it('packages, with the developer issuer and the localhost origins', () => {
      expect(dev.ok, dev.output).toBe(true);
      const resources = Object.values(dev.template?.Resources ?? {});
      const authorizer = resources.find((resource) => resource.Type === 'AWS::ApiGatewayV2::Authorizer');
      expect(authorizer?.Properties.JwtConfiguration).toEqual({
        Issuer: 'https://dev-issuer.order-management-api.local',
        Audience: ['order-management-api'],
      });
      const api = resources.find((resource) => resource.Type === 'AWS::ApiGatewayV2::Api');
      expect(api?.Properties.CorsConfiguration).toMatchObject({
        AllowOrigins: ['http://localhost:3000', 'http://localhost:5173'],
      });
      const fn = resources.find((resource) => resource.Type === 'AWS::Lambda::Function');
      expect(fn?.Properties.Environment).toMatchObject({
        Variables: { POWERTOOLS_METRICS_NAMESPACE: 'OrderManagementApi/dev' },
      });
    });
  });
});
