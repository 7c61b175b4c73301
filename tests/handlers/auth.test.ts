import { describe, expect, it } from 'vitest';
import { resetConfig } from '#lib/config';
import { routes } from '#lib/http/routes';
import { handlers, useApiDatabase } from '../support/api.ts';
import { invoke } from '../support/apiEvents.ts';
import { bearer, testIssuer } from '../support/auth.ts';
import { captureRequestLogs } from '../support/requestLogs.ts';

useApiDatabase('handlers_auth');

const handlerFor = (functionName: string) => handlers[functionName as keyof typeof handlers];
const requestFor = (route: (typeof routes)[number]) => ({
  method: route.method,
  route: route.path,
  ...(route.path.includes('{id}') && { pathParameters: { id: 'auth-probe' } }),
  ...(route.body && {
    body:
      route.body === 'OrderInput'
        ? { datetime: '2041-01-01T00:00:00Z', totalfee: 1, services: [{ id: 'x' }] }
        : { name: 'x' },
  }),
});

describe('bearer tokens and scopes', () => {
  it.each(routes.map((route) => [route.functionName, route] as const))(
    '%s answers 401 without a token',
    async (name, route) => {
      const response = await invoke(handlerFor(name), { ...requestFor(route), auth: false });
      expect(response.status).toBe(401);
      expect(response.headers['content-type']).toBe('application/problem+json');
      expect(response.headers['www-authenticate']).toBe('Bearer');
      expect(response.body).toMatchObject({ status: 401, title: 'Unauthorized' });
    },
  );

  it.each(routes.map((route) => [route.functionName, route] as const))(
    '%s answers 403 with a token lacking its scope',
    async (name, route) => {
      const otherScopes = ['orders:read', 'orders:write', 'services:read', 'services:write'].filter(
        (s) => s !== route.scope,
      );
      const response = await invoke(handlerFor(name), { ...requestFor(route), auth: { scopes: otherScopes } });
      expect(response.status).toBe(403);
      expect(response.headers['www-authenticate']).toContain(`scope="${route.scope}"`);
      expect(response.body).toMatchObject({ status: 403, detail: expect.stringContaining(route.scope) });
    },
  );

  it("lets a token with just the route's scope through", async () => {
    const response = await invoke(handlers.listServices, {
      method: 'GET',
      route: '/services',
      auth: { scopes: ['services:read'] },
    });
    expect(response.status).toBe(200);
  });

  it.each([
    ['an expired token', { auth: { expiresInSeconds: -60 } }],
    ['another issuer', { auth: { issuer: 'https://evil.example' } }],
    ['another audience', { auth: { audience: 'someone-else' } }],
  ])('answers 401 for %s', async (_label, options) => {
    const response = await invoke(handlers.listOrders, { method: 'GET', route: '/orders', ...options });
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  });

  it.each([['Basic dXNlcjpwYXNz'], ['Bearer not-a-jwt'], ['Bearer a.b.c']])(
    'answers 401 for Authorization: %s',
    async (value) => {
      const response = await invoke(handlers.listOrders, {
        method: 'GET',
        route: '/orders',
        headers: { authorization: value },
      });
      expect(response.status).toBe(401);
    },
  );

  it('answers 401 for a token that never expires', async () => {
    const { importJWK, SignJWT } = await import('jose');
    const { privateJwk } = await testIssuer();
    const { DEV_AUDIENCE, DEV_ISSUER } = await import('#dev/auth/devIssuer');
    const forever = await new SignJWT({ scope: 'orders:read' })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer(DEV_ISSUER)
      .setAudience(DEV_AUDIENCE)
      .setSubject('someone')
      .sign(await importJWK(privateJwk, 'ES256'));
    const response = await invoke(handlers.listOrders, {
      method: 'GET',
      route: '/orders',
      headers: { authorization: `Bearer ${forever}` },
    });
    expect(response.status).toBe(401);
  });

  it('answers 401 for a token signed by another key', async () => {
    const { createIssuerKeys, signToken } = await import('#dev/auth/devIssuer');
    const forged = await signToken(await createIssuerKeys());
    const response = await invoke(handlers.listOrders, {
      method: 'GET',
      route: '/orders',
      headers: { authorization: `Bearer ${forged}` },
    });
    expect(response.status).toBe(401);
  });

  it('checks the token before the body, so an anonymous caller learns nothing about validation', async () => {
    const response = await invoke(handlers.createOrder, {
      method: 'POST',
      route: '/orders',
      body: '{not json',
      auth: false,
    });
    expect(response.status).toBe(401);
  });

  it("trusts the scopes API Gateway's JWT authorizer passes in gateway mode", async () => {
    process.env.AUTH_MODE = 'gateway';
    resetConfig();
    try {
      const { apiGatewayEvent, lambdaContext } = await import('../support/apiEvents.ts');
      const event = apiGatewayEvent({ method: 'GET', route: '/services' });
      const withScopes = (scopes: string[]) => ({
        ...event,
        requestContext: { ...event.requestContext, authorizer: { jwt: { claims: { sub: 'u' }, scopes } } },
      });
      expect((await handlers.listServices(withScopes(['services:read']), lambdaContext())).statusCode).toBe(200);
      expect((await handlers.listServices(withScopes(['orders:read']), lambdaContext())).statusCode).toBe(403);
      // Without the authorizer's context nothing vouches for the caller, whatever header it sends.
      const unverified = apiGatewayEvent({
        method: 'GET',
        route: '/services',
        headers: { authorization: await bearer() },
      });
      expect((await handlers.listServices(unverified, lambdaContext())).statusCode).toBe(401);
    } finally {
      process.env.AUTH_MODE = 'local';
      resetConfig();
    }
  });
});

describe('request logs', () => {
  it('write one line per request with id, route, status and duration, and no token or body', async () => {
    const token = await bearer();
    const { lines, result } = await captureRequestLogs(() =>
      invoke(handlers.createService, {
        method: 'POST',
        route: '/services',
        body: { id: 'log-probe', name: 'secret-name-in-body' },
        headers: { authorization: token },
      }),
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'INFO',
      message: 'request',
      service: 'order-management-api',
      route: 'POST /services',
      method: 'POST',
      path: '/services',
      status: 201,
      requestId: expect.any(String),
      durationMs: expect.any(Number),
    });
    expect(result.status).toBe(201);
    const logged = JSON.stringify(lines);
    expect(logged).not.toContain(token.slice(7));
    expect(logged).not.toContain('secret-name-in-body');
    expect(logged).not.toContain('mongodb://');
  });
});
