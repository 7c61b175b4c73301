import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { publicRoutes, routes } from '#lib/http/routes';

/**
 * serverless.yml uses CloudFormation tags (!Join, !Ref), so it is parsed the way the framework
 * parses it: with the js-yaml and the CloudFormation schema its configuration reader
 * (osls, lib/configuration/read.js) uses.
 */
const requireFromServerless = createRequire(createRequire(import.meta.url).resolve('serverless/package.json'));
const yaml = requireFromServerless('js-yaml') as { load: (text: string, options: { schema: unknown }) => unknown };
const cloudFormationSchema = requireFromServerless('./lib/utils/serverless-utils/cloudformation-schema') as unknown;

interface HttpApiEvent {
  method: string;
  path: string;
  functionName: string;
  /** Scopes of the JWT authorizer, when the route has one. */
  scopes: string[] | undefined;
}

interface ServerlessFunction {
  handler?: string;
  events?: { httpApi?: string | { method: string; path: string; authorizer?: { scopes?: string[] } } }[];
}

/** Every httpApi event of serverless.yml, short form (`'GET /x'`) or long form. */
function httpApiEvents(): HttpApiEvent[] {
  const text = readFileSync(new URL('../../serverless.yml', import.meta.url), 'utf8');
  const config = yaml.load(text, { schema: cloudFormationSchema }) as { functions: Record<string, ServerlessFunction> };
  return Object.entries(config.functions).flatMap(([functionName, fn]) =>
    (fn.events ?? []).flatMap(({ httpApi }) => {
      if (httpApi === undefined) return [];
      if (typeof httpApi === 'string') {
        const [method = '', path = ''] = httpApi === '*' ? ['*', '*'] : httpApi.split(' ');
        return [{ method: method.toUpperCase(), path, functionName, scopes: undefined }];
      }
      return [
        {
          method: httpApi.method.toUpperCase(),
          path: httpApi.path,
          functionName,
          scopes: httpApi.authorizer?.scopes,
        },
      ];
    }),
  );
}

const declared = httpApiEvents();
const tableRoutes = [...routes, ...publicRoutes];
const key = (route: { method: string; path: string }) => `${route.method} ${route.path}`;

describe('serverless.yml and the route table', () => {
  it('declares every route of the table, served by the function the table names', () => {
    for (const route of tableRoutes) {
      const event = declared.find((candidate) => key(candidate) === key(route));
      expect(event, `${key(route)} is missing from serverless.yml`).toBeDefined();
      expect(event?.functionName, key(route)).toBe(route.functionName);
    }
  });

  it('declares no route the table lacks, apart from the catch-all', () => {
    const known = new Set(tableRoutes.map(key));
    const extra = declared.filter((event) => !known.has(key(event)) && !(event.method === '*' && event.path === '*'));
    expect(extra.map(key)).toEqual([]);
    expect(declared.filter((event) => event.path === '*').map((event) => event.functionName)).toEqual(['notFound']);
  });

  it("has the gateway's JWT authorizer require each route's scope, and no authorizer on the documentation", () => {
    for (const route of routes) {
      expect(declared.find((candidate) => key(candidate) === key(route))?.scopes, key(route)).toEqual([route.scope]);
    }
    for (const route of publicRoutes) {
      expect(declared.find((candidate) => key(candidate) === key(route))?.scopes, key(route)).toBeUndefined();
    }
  });
});
