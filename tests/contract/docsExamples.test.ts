import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { routes } from '#lib/http/routes';
import { SAMPLE_ORDERS, SAMPLE_SERVICES } from '#lib/schemas/samples';
import { api, handlers, useApiDatabase } from '../support/api.ts';
import { invoke } from '../support/apiEvents.ts';

useApiDatabase('docs_examples');

type JsonObject = { [key: string]: unknown; examples?: unknown[] };
const document = JSON.parse(readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8')) as JsonObject;

/**
 * The operation's request as /docs "Try it out" fills it in: path examples, required query
 * parameters' examples, and the body example.
 */
function exampleRequest(path: string, method: string) {
  const operation = (document.paths as Record<string, Record<string, JsonObject>>)[path]?.[method.toLowerCase()];
  if (!operation) throw new Error(`openapi.json has no ${method} ${path}`);
  const pathParameters = Object.fromEntries(
    ((operation.parameters ?? []) as JsonObject[])
      .filter((parameter) => parameter.in === 'path')
      // Swagger UI falls back to the schema's first example.
      .map((parameter) => [parameter.name, parameter.example ?? (parameter.schema as JsonObject).examples?.[0]]),
  ) as Record<string, string>;
  const query = Object.fromEntries(
    ((operation.parameters ?? []) as JsonObject[])
      .filter((parameter) => parameter.in === 'query' && parameter.required === true)
      .map((parameter) => [parameter.name, parameter.example ?? (parameter.schema as JsonObject).examples?.[0]]),
  ) as Record<string, string>;
  const body = (operation.requestBody as { content?: Record<string, { example?: unknown }> } | undefined)?.content?.[
    'application/json'
  ]?.example;
  return { pathParameters, query, body };
}

beforeAll(async () => {
  // What `npm run seed` loads.
  for (const service of SAMPLE_SERVICES) expect((await api.createService(service)).status).toBe(201);
  for (const order of SAMPLE_ORDERS) expect((await api.createOrder(order)).status).toBe(201);
});

describe('the examples on /docs, after npm run seed', () => {
  it('succeed for every create, read and replace operation, in the order the document lists them', async () => {
    for (const route of routes.filter((candidate) => candidate.method !== 'DELETE')) {
      const { pathParameters, query, body } = exampleRequest(route.path, route.method);
      const handler = handlers[route.functionName as keyof typeof handlers];
      const response = await invoke(handler, {
        method: route.method,
        route: route.path,
        ...(Object.keys(pathParameters).length > 0 && { pathParameters }),
        ...(Object.keys(query).length > 0 && { query }),
        ...(body !== undefined && { body }),
      });
      expect(response.status, `${route.method} ${route.path}: ${response.rawBody}`).toBe(route.successStatus);
    }
  });
});
