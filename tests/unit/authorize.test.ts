/**
 * The authorize middleware on its own: which Authorization headers count as a bearer token, the
 * exact 401s (detail and challenge), where scopes come from, and who the caller is (idempotency
 * keys are scoped by it). The handler tests (tests/handlers/auth.test.ts) show it on every route.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resetConfig } from '#lib/config';
import { authorize, callerOf, scopesOf } from '#lib/http/middleware/authorize';
import { HttpProblem } from '#lib/http/problems';
import { bearer, testAuthEnvironment } from '../support/auth.ts';

type Request = Parameters<NonNullable<ReturnType<typeof authorize>['before']>>[0];

function requestWith(event: Partial<APIGatewayProxyEventV2>): { request: Request; event: APIGatewayProxyEventV2 } {
  const full = { headers: {}, requestContext: {}, ...event } as APIGatewayProxyEventV2;
  return { request: { event: full } as unknown as Request, event: full };
}

/** Runs authorize(scope) on `event`; returns the problem it raised (undefined when it let the request through). */
async function outcome(scope: 'orders:read', event: Partial<APIGatewayProxyEventV2>): Promise<HttpProblem | undefined> {
  const { request } = requestWith(event);
  try {
    await authorize(scope).before?.(request);
    return undefined;
  } catch (error) {
    if (error instanceof HttpProblem) return error;
    throw error;
  }
}

function useEnv(env: Record<string, string>): void {
  beforeEach(() => {
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    resetConfig();
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    resetConfig();
  });
}

describe('scopes from token claims', () => {
  it('splits the scope claim on spaces, ignoring empty parts', () => {
    expect(scopesOf({ scope: ' orders:read  services:write ' })).toEqual(['orders:read', 'services:write']);
  });

  it('takes the scp array when there is no scope string, keeping only strings', () => {
    expect(scopesOf({ scp: ['orders:read', 7, null, 'services:read'] })).toEqual(['orders:read', 'services:read']);
    expect(scopesOf({ scope: 'a', scp: ['b'] })).toEqual(['a']);
  });

  it('is empty when the token carries neither', () => {
    expect(scopesOf({ scp: 'orders:read' })).toEqual([]);
    expect(scopesOf({})).toEqual([]);
  });
});

describe('authorize with local token verification', async () => {
  useEnv(await testAuthEnvironment());

  it('answers 401 with a plain Bearer challenge when there is no Authorization header', async () => {
    for (const headers of [{}, undefined]) {
      const problem = await outcome('orders:read', { headers } as Partial<APIGatewayProxyEventV2>);
      expect(problem?.problem).toMatchObject({ status: 401, detail: 'A bearer token is required' });
      expect(problem?.headers['www-authenticate']).toBe('Bearer');
    }
  });

  it('answers 401 invalid_token when the header is not exactly "Bearer <jwt>"', async () => {
    const token = await bearer();
    for (const authorization of [`x${token}`, `${token} trailing`, 'Basic dXNlcjpwYXNz', 'Bearer abc']) {
      const problem = await outcome('orders:read', { headers: { authorization } });
      expect(problem?.problem, authorization).toMatchObject({
        status: 401,
        detail: 'The Authorization header is not a bearer token',
      });
      expect(problem?.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    }
  });

  it('accepts the scheme in any case, and records the caller as issuer and subject', async () => {
    const token = (await bearer({ scopes: ['orders:read'] })).replace(/^Bearer /, 'bEaReR ');
    const { request, event } = requestWith({ headers: { authorization: token } });
    await authorize('orders:read').before?.(request);
    expect(callerOf(event)).toMatch(/^\S+ \S+$/);
    expect(callerOf(event)).not.toContain('undefined');
  });

  it('answers 401 invalid_token for a token that does not verify, saying only that', async () => {
    const problem = await outcome('orders:read', {
      headers: { authorization: await bearer({ expiresInSeconds: -60 }) },
    });
    expect(problem?.problem).toMatchObject({ status: 401, detail: 'The bearer token is invalid or expired' });
    expect(problem?.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  });
});

describe('authorize behind API Gateway', () => {
  useEnv({ AUTH_MODE: 'gateway' });

  const gateway = (jwt: unknown): Partial<APIGatewayProxyEventV2> =>
    ({ requestContext: { authorizer: { jwt } } }) as unknown as Partial<APIGatewayProxyEventV2>;

  it('answers 401 when the authorizer passed no claims', async () => {
    for (const event of [gateway(undefined), gateway({ scopes: ['orders:read'] }), {}]) {
      const problem = await outcome('orders:read', event);
      expect(problem?.problem).toMatchObject({ status: 401, detail: 'A bearer token is required' });
    }
  });

  it("reads the claims' scopes when the gateway passes none, and names a missing issuer as empty", async () => {
    const { request, event } = requestWith(gateway({ claims: { sub: 'user-1', scope: 'orders:read' }, scopes: null }));
    await authorize('orders:read').before?.(request);
    expect(callerOf(event)).toBe(' user-1');
    const noSubject = requestWith(gateway({ claims: { iss: 'https://issuer', scp: ['orders:read'] } }));
    await authorize('orders:read').before?.(noSubject.request);
    expect(callerOf(noSubject.event)).toBe('https://issuer ');
  });

  it('tells two callers of the same issuer apart by subject, from the claims on each event', async () => {
    const callers: string[] = [];
    for (const sub of ['user-1', 'user-2']) {
      const { request, event } = requestWith(
        gateway({ claims: { iss: 'https://issuer', sub }, scopes: ['orders:read'] }),
      );
      await authorize('orders:read').before?.(request);
      callers.push(callerOf(event));
    }
    expect(callers).toEqual(['https://issuer user-1', 'https://issuer user-2']);
  });

  it("answers 403 when the gateway's scopes lack the route's, even if the claims have it", async () => {
    const problem = await outcome(
      'orders:read',
      gateway({ claims: { iss: 'i', sub: 's', scope: 'orders:read' }, scopes: ['services:read'] }),
    );
    expect(problem?.problem.status).toBe(403);
  });
});

describe('authorize switched off', () => {
  useEnv({ AUTH_MODE: 'off' });

  it('lets every request through and calls the caller anonymous', async () => {
    const { request, event } = requestWith({ headers: {} });
    // The check may answer synchronously (gateway and off modes) or as a promise (local tokens).
    expect(await authorize('orders:read').before?.(request)).toBeUndefined();
    expect(callerOf(event)).toBe('anonymous');
  });
});
