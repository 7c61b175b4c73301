import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type PackagedService, packageService } from '../support/serverlessPackage.ts';

/**
 * The stage settings that must never fall back to a developer's defaults: a stage other than dev
 * packages only with JWT_ISSUER and JWT_AUDIENCE given (deploy/stageSettings.cjs), and dev still
 * packages with nothing set at all. The prod template with every setting given is checked in
 * package.test.ts.
 */
/** serverless.yml's file function, called as osls calls it (CommonJS, hence require). */
const resolveStageSettings = createRequire(import.meta.url)('../../deploy/stageSettings.cjs') as (options: {
  resolveVariable: (variable: string) => Promise<unknown>;
}) => Promise<Record<string, unknown>>;

function settingsFor(stage: string): Promise<Record<string, unknown>> {
  return resolveStageSettings({
    resolveVariable: async (variable) => {
      if (variable !== 'sls:stage') throw new Error(`unexpected variable ${variable}`);
      return stage;
    },
  });
}

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

describe('deploy/stageSettings.cjs, the settings read from the environment', () => {
  const names = [
    'JWT_ISSUER',
    'JWT_AUDIENCE',
    'CORS_ORIGINS',
    'ALARM_EMAIL',
    'METRICS_NAMESPACE',
    'THROTTLE_RATE_LIMIT',
    'THROTTLE_BURST_LIMIT',
    'MONGODB_URI_PARAMETER',
    'EVENT_BUS_NAME',
  ];
  function environment(values: Record<string, string>): void {
    for (const name of names) vi.stubEnv(name, values[name] ?? '');
  }
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('takes an empty variable as unset (GitHub passes an unset vars.X as ""): the optional ones keep their defaults', async () => {
    environment({ JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
    expect(await settingsFor('prod')).toEqual({
      jwtIssuer: ISSUER,
      jwtAudience: AUDIENCE,
      corsOrigins: [],
      alarmEmail: '',
      metricsNamespace: 'OrderManagementApi/prod',
      mongodbUriParameter: '/order-management-api/prod/mongodb-uri',
      throttleRateLimit: 100,
      throttleBurstLimit: 200,
      eventBusName: 'order-management-api-prod',
    });
  });

  it('refuses an empty JWT_ISSUER like an unset one', async () => {
    environment({ JWT_ISSUER: '  ', JWT_AUDIENCE: AUDIENCE });
    await expect(settingsFor('prod')).rejects.toThrow('Stage "prod" needs JWT_ISSUER in the environment');
  });

  it('takes every setting given, the origins split on commas', async () => {
    environment({
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      CORS_ORIGINS: 'https://a.example.com,https://b.example.com:8443 ,',
      ALARM_EMAIL: 'oncall@example.com',
      METRICS_NAMESPACE: 'Orders/Production',
      THROTTLE_RATE_LIMIT: '50',
      THROTTLE_BURST_LIMIT: '75',
      MONGODB_URI_PARAMETER: '/orders/prod/uri',
      EVENT_BUS_NAME: 'orders-events.prod',
    });
    expect(await settingsFor('prod')).toEqual({
      jwtIssuer: ISSUER,
      jwtAudience: AUDIENCE,
      corsOrigins: ['https://a.example.com', 'https://b.example.com:8443'],
      alarmEmail: 'oncall@example.com',
      metricsNamespace: 'Orders/Production',
      mongodbUriParameter: '/orders/prod/uri',
      throttleRateLimit: 50,
      throttleBurstLimit: 75,
      eventBusName: 'orders-events.prod',
    });
  });

  it('refuses a malformed optional setting, naming it', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ THROTTLE_RATE_LIMIT: '10.5' }, 'THROTTLE_RATE_LIMIT must be a positive whole number'],
      [{ THROTTLE_BURST_LIMIT: '0' }, 'THROTTLE_BURST_LIMIT must be a positive whole number'],
      [{ ALARM_EMAIL: 'a@example.com,b@example.com' }, 'ALARM_EMAIL must be one email address'],
      [{ METRICS_NAMESPACE: 'AWS/Lambda' }, 'is not a custom CloudWatch namespace'],
      [{ MONGODB_URI_PARAMETER: 'orders/uri' }, 'MONGODB_URI_PARAMETER must be an SSM parameter path'],
      [{ CORS_ORIGINS: 'https://127.0.0.1:8080' }, 'is a local origin'],
      [{ CORS_ORIGINS: 'app.example.com' }, 'is not an origin'],
      [{ EVENT_BUS_NAME: 'default' }, 'EVENT_BUS_NAME "default" is not a name for a custom EventBridge bus'],
      [{ EVENT_BUS_NAME: 'aws.partner' }, 'is not a name for a custom EventBridge bus'],
      [{ EVENT_BUS_NAME: 'orders bus' }, 'is not a name for a custom EventBridge bus'],
    ];
    for (const [values, message] of cases) {
      environment({ JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, ...values });
      await expect(settingsFor('prod'), JSON.stringify(values)).rejects.toThrow(message);
    }
  });

  it('needs nothing for dev, whose own params hold the developer issuer, audience and origins', async () => {
    environment({});
    expect(await settingsFor('dev')).toMatchObject({
      metricsNamespace: 'OrderManagementApi/dev',
      corsOrigins: [],
      eventBusName: 'order-management-api-dev',
    });
  });
});
