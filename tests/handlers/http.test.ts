import { describe, expect, it, vi } from 'vitest';
import { httpHandler } from '#lib/http/httpHandler';
import { logger } from '#lib/http/requestLog';
import { handler as notFound } from '../../functions/notFound.ts';
import { api, handlers, useApiDatabase } from '../support/api.ts';
import { apiGatewayEvent, invoke, lambdaContext } from '../support/apiEvents.ts';
import { bearer } from '../support/auth.ts';

useApiDatabase('handlers_http');

const validService = JSON.stringify({ name: 'Inspection' });

describe('request bodies', () => {
  it("answers malformed JSON with 400, not middy 6's 415", async () => {
    const response = await invoke(handlers.createService, { method: 'POST', route: '/services', body: '{"name": ' });
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.body).toMatchObject({ type: '/problems/malformed-json', status: 400, title: 'Malformed JSON' });
  });

  it('answers 400 for a missing body', async () => {
    const response = await invoke(handlers.createOrder, {
      method: 'POST',
      route: '/orders',
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(400);
  });

  it.each(['/services', '/orders'])(
    'answers 400 "body is required" when the body is null, as serverless-offline sends it (%s)',
    async (route) => {
      const event = apiGatewayEvent({
        method: 'POST',
        route,
        headers: { 'content-type': 'application/json', authorization: await bearer() },
      });
      (event as { body: unknown }).body = null;
      const handler = route === '/services' ? handlers.createService : handlers.createOrder;
      const result = await handler(event, lambdaContext());
      expect(result.statusCode).toBe(400);
      expect(result.headers?.['content-type']).toBe('application/problem+json');
      expect(JSON.parse(result.body ?? '{}')).toMatchObject({
        type: '/problems/malformed-json',
        detail: 'A JSON body is required',
      });
    },
  );

  it.each([[''], [' '], ['\n']])('answers 400 "body is required" for a blank body %j', async (body) => {
    const response = await invoke(handlers.createService, {
      method: 'POST',
      route: '/services',
      body,
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ type: '/problems/malformed-json', detail: 'A JSON body is required' });
  });

  it.each([['null'], ['null '], ['false'], ['0'], ['""'], ['"x"'], ['[]'], ['[{"name":"x"}]']])(
    'answers valid JSON that is not an object (%s) with 400 "must be object", not as malformed JSON',
    async (body) => {
      for (const [handler, route] of [
        [handlers.createService, '/services'],
        [handlers.createOrder, '/orders'],
      ] as const) {
        const response = await invoke(handler, { method: 'POST', route, body });
        expect(response.status).toBe(400);
        expect(response.headers['content-type']).toBe('application/problem+json');
        expect(response.body).toMatchObject({
          type: '/problems/validation-error',
          errors: [{ in: 'body', pointer: '', detail: 'must be object' }],
        });
      }
    },
  );

  it('refuses a __proto__ key as 400, not as a crash or a polluted object', async () => {
    const response = await invoke(handlers.createService, {
      method: 'POST',
      route: '/services',
      body: '{"name":"x","__proto__":{"admin":true}}',
    });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      type: '/problems/malformed-json',
      detail: expect.stringContaining('forbidden key'),
    });
  });

  it.each([['text/plain'], ['application/x-www-form-urlencoded'], ['']])(
    'answers 415 for content type %j',
    async (contentType) => {
      const response = await invoke(handlers.createService, {
        method: 'POST',
        route: '/services',
        body: validService,
        headers: { 'content-type': contentType },
      });
      expect(response.status).toBe(415);
      expect(response.body).toMatchObject({ status: 415, title: 'Unsupported Media Type' });
    },
  );

  it('accepts application/json with a charset', async () => {
    const response = await invoke(handlers.createService, {
      method: 'POST',
      route: '/services',
      body: validService,
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(response.status).toBe(201);
  });

  it('answers 413 for a body over 64 KiB and stores nothing', async () => {
    const before = ((await api.listServices({ limit: '100' })).body as { items: unknown[] }).items.length;
    const response = await api.createService({ id: 'too-big', name: 'x', padding: 'y'.repeat(70_000) });
    expect(response.status).toBe(413);
    expect(response.body).toMatchObject({ status: 413 });
    expect((await api.getService('too-big')).status).toBe(404);
    expect(((await api.listServices({ limit: '100' })).body as { items: unknown[] }).items.length).toBe(before);
  });

  it('reads a base64-encoded body as API Gateway may send it', async () => {
    const event = {
      method: 'POST',
      route: '/services',
      body: Buffer.from(JSON.stringify({ id: 'b64', name: 'Encoded' })).toString('base64'),
      headers: { authorization: await bearer() },
    };
    const raw = apiGatewayEvent(event);
    raw.isBase64Encoded = true;
    const result = await handlers.createService(raw, lambdaContext());
    expect(result.statusCode).toBe(201);
    expect(JSON.parse(result.body ?? '{}')).toMatchObject({ id: 'b64', name: 'Encoded' });
  });

  it('never lets an operator object reach a query: ids must be ids', async () => {
    const response = await api.createOrder({
      datetime: '2040-01-01T00:00:00Z',
      totalfee: 1,
      services: [{ id: { $gt: '' } }],
    });
    expect(response.status).toBe(400);
  });
});

describe('unknown routes', () => {
  it('answers 404 problem+json for any method and path', async () => {
    const response = await invoke(notFound, { method: 'PATCH', route: '/nowhere/at/all' });
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.body).toMatchObject({ status: 404, detail: 'No route for PATCH /nowhere/at/all' });
  });
});

describe('unexpected errors', () => {
  it('answer 500 with a correlation id and no internals, and log the stack', async () => {
    const log = vi.spyOn(logger, 'error');
    const failing = httpHandler(null, {}, async () => {
      throw new Error('secret internal detail mongodb://user:pass@host');
    });
    const response = await invoke(failing, { method: 'GET', route: '/boom' });
    expect(response.status).toBe(500);
    expect(response.headers['content-type']).toBe('application/problem+json');
    const body = response.body as { correlationId: string; detail: string };
    expect(body.correlationId).toMatch(/[0-9a-f-]{36}/);
    expect(response.rawBody).not.toContain('secret');
    expect(response.rawBody).not.toContain('mongodb://');
    expect(log).toHaveBeenCalledOnce();
    const [message, details] = log.mock.calls[0] ?? [];
    expect(message).toBe('unhandled error');
    expect(details).toMatchObject({ correlationId: body.correlationId, error: expect.any(Error) });
    expect((details as { error: Error }).error.stack).toContain('http.test.ts');
    log.mockRestore();
  });
});
