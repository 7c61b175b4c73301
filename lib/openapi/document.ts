/**
 * Builds the API's OpenAPI 3.1 document from the route table (lib/http/routes.ts) and the
 * TypeBox schemas the request validators are compiled from (lib/schemas). TypeBox schemas are
 * JSON Schema already, and OpenAPI 3.1 speaks JSON Schema 2020-12, so they go in unchanged:
 * the document cannot drift from what the API validates. `npm run openapi` writes the result
 * to openapi.json; tests/contract/openapiFresh.test.ts fails when that file is stale.
 */
import type { TSchema } from '@sinclair/typebox';
import {
  type PublicRouteDefinition,
  publicRoutes,
  type RouteDefinition,
  routes,
  type SchemaName,
} from '#lib/http/routes';
import { ProblemDetails, schemasByName } from '#lib/schemas/index';
import { SAMPLE_ORDER_ID, SAMPLE_ORDERS, SAMPLE_SERVICE_ID, SAMPLE_SERVICES } from '#lib/schemas/samples';
import packageJson from '../../package.json' with { type: 'json' };

/** A JSON object as it appears in the document. */
export type JsonObject = { [key: string]: unknown };

/** The name of the bearer token security scheme. */
export const BEARER_SCHEME = 'bearerAuth';

/** Error statuses every secured operation can answer, besides its route's own. */
export const COMMON_ERROR_STATUSES = [400, 401, 403, 500, 503] as const;

const JSON_MEDIA_TYPE = 'application/json';
const PROBLEM_MEDIA_TYPE = 'application/problem+json';

/** Reusable response headers, referenced by name from each response. */
const headerComponents: Record<string, JsonObject> = {
  CacheControl: {
    description: 'Responses are never cached: they describe live data.',
    required: true,
    schema: { type: 'string', const: 'no-store' },
  },
  ContentTypeOptions: {
    description: 'Browsers must not guess another content type.',
    required: true,
    schema: { type: 'string', const: 'nosniff' },
  },
  Location: {
    description: "The new resource's path, e.g. `/orders/223`.",
    required: true,
    schema: { type: 'string', examples: ['/orders/223'] },
  },
  ETag: {
    description:
      "The resource's current version as an entity tag. Send it back in `If-Match` to update or delete only that version.",
    required: true,
    schema: { type: 'string', examples: ['"3"'] },
  },
  IdempotentReplayed: {
    description: '`true` when this is the stored response of an earlier request with the same `Idempotency-Key`.',
    required: false,
    schema: { type: 'string', const: 'true' },
  },
  RetryAfter: {
    description: 'Seconds to wait before retrying.',
    required: true,
    schema: { type: 'integer', minimum: 0, examples: [5] },
  },
  RetryAfterOptional: {
    description: 'Seconds to wait before retrying, when waiting is what resolves the conflict.',
    required: false,
    schema: { type: 'integer', minimum: 0, examples: [1] },
  },
  WWWAuthenticate: {
    description: 'The authentication scheme (`Bearer`) and, for a rejected token, why (RFC 6750).',
    required: true,
    schema: { type: 'string', examples: ['Bearer error="invalid_token"'] },
  },
  WWWAuthenticateScope: {
    description: 'Names the scope the token lacks (RFC 6750 `insufficient_scope`).',
    required: true,
    schema: { type: 'string', examples: ['Bearer error="insufficient_scope", scope="orders:write"'] },
  },
};

const headerRef = (name: string): JsonObject => ({
  $ref: `#/components/headers/${name}`,
});

/** The headers every response carries. */
const commonHeaders = (): JsonObject => ({
  'Cache-Control': headerRef('CacheControl'),
  'X-Content-Type-Options': headerRef('ContentTypeOptions'),
});

/** Request headers, reusable as parameters. */
const parameterComponents: Record<string, JsonObject> = {
  IdempotencyKey: {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description:
      'Makes a create safe to retry: a request repeating a key gets the first response again and creates nothing. ' +
      'The same key with a different body is a 422; a retry while the first is still running is a 409.',
    schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$', examples: ['a1b2c3d4'] },
  },
  IfMatch: {
    name: 'If-Match',
    in: 'header',
    required: false,
    description:
      'Apply the change only if the resource is still at this version (the `ETag` of an earlier response), ' +
      'otherwise answer 412. `*` matches any version.',
    schema: { type: 'string', examples: ['"3"'] },
  },
};

/** What each problem status means, when the route does not say more. */
const problemDescriptions: Record<number, { name: string; title: string; description: string }> = {
  400: {
    name: 'BadRequest',
    title: 'Invalid request',
    description:
      'The request is not valid: malformed JSON, a malformed header, or fields of the body, path or query that fail ' +
      'their schema (`errors` lists each one with a JSON pointer).',
  },
  401: {
    name: 'Unauthorized',
    title: 'Unauthorized',
    description:
      'No valid bearer token: missing, malformed, expired or not signed by a trusted issuer. ' +
      '`WWW-Authenticate` says which.',
  },
  403: { name: 'Forbidden', title: 'Forbidden', description: "The token is valid but lacks this operation's scope." },
  404: { name: 'NotFound', title: 'Not Found', description: 'No resource has this id.' },
  409: {
    name: 'Conflict',
    title: 'Conflict',
    description: 'The request conflicts with the current state of the resource.',
  },
  412: {
    name: 'PreconditionFailed',
    title: 'Precondition Failed',
    description:
      '`If-Match` names a version that is no longer current: fetch the resource again (its `ETag`) and retry.',
  },
  413: { name: 'ContentTooLarge', title: 'Content Too Large', description: 'The body is larger than 64 KiB.' },
  415: {
    name: 'UnsupportedMediaType',
    title: 'Unsupported Media Type',
    description: 'The body is not sent as `application/json`.',
  },
  422: {
    name: 'UnprocessableContent',
    title: 'Unprocessable Content',
    description: 'The request is well-formed but cannot be carried out.',
  },
  500: {
    name: 'InternalServerError',
    title: 'Internal Server Error',
    description: 'An unexpected error. `correlationId` identifies it in the logs; quote it when reporting.',
  },
  503: {
    name: 'ServiceUnavailable',
    title: 'Service Unavailable',
    description: 'The database cannot be reached right now; retry after `Retry-After` seconds.',
  },
};

const idempotencyConflict = 'a request with the same `Idempotency-Key` is still being processed (retry shortly)';
const windowConflict =
  'Another order is less than the order window (3 hours) away: `conflictingOrderId` names it and ' +
  '`nearestAvailable` gives the nearest datetimes before and after the requested one that would be accepted ' +
  '(each looked for up to a week away, absent when none is found).';
const idempotencyMismatch = 'the `Idempotency-Key` was already used with a different body';

/** Route-specific meanings of 409 and 422, by operationId: they differ per operation. */
const operationProblemDescriptions: Record<string, Partial<Record<number, string>>> = {
  createService: {
    409: `A service with this id already exists, or ${idempotencyConflict}.`,
    422: `The request cannot be carried out: ${idempotencyMismatch}.`,
  },
  deleteService: { 409: 'An order still references this service.' },
  createOrder: {
    409: `${windowConflict} An order with this id already exists, or ${idempotencyConflict}.`,
    422: `Referenced services do not exist (\`missingServiceIds\` lists them), or ${idempotencyMismatch}.`,
  },
  replaceOrder: {
    409: `${windowConflict} The order being moved is ignored, as the rule ignores it.`,
    422: 'Referenced services do not exist (`missingServiceIds` lists them).',
  },
  getOrderAvailability: {
    400:
      'The query is not valid: `from` or `to` missing, not an RFC 3339 date-time or outside years 0000 to 9999 ' +
      'in UTC, `to` not later than `from`, ' +
      'or a range longer than 31 days (or 500 order windows).',
  },
  getApiDocsAsset: { 404: 'The page has no file of this name.' },
};

/** A TypeBox schema as plain JSON: TypeBox's own markers are symbols, which JSON drops. */
function plainSchema(schema: TSchema): JsonObject {
  return JSON.parse(JSON.stringify(schema)) as JsonObject;
}

/** The schemas that appear as components (bodies); parameter schemas become parameters instead. */
const COMPONENT_SCHEMA_NAMES = [
  'ServiceInput',
  'Service',
  'ServicePage',
  'OrderInput',
  'Order',
  'OrderPage',
  'Availability',
] as const satisfies readonly SchemaName[];

const schemaRef = (name: string): JsonObject => ({ $ref: `#/components/schemas/${name}` });

/**
 * An example value built from the `examples` the schemas carry (and their defaults), so a
 * request body's example comes from the same source as its validation. Undefined when some
 * required part has no example.
 */
export function exampleFromSchema(schema: JsonObject): unknown {
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if ('const' in schema) return schema.const;
  if ('default' in schema) return schema.default;
  if (Array.isArray(schema.anyOf)) {
    for (const branch of schema.anyOf as JsonObject[]) {
      const example = exampleFromSchema(branch);
      if (example !== undefined) return example;
    }
    return undefined;
  }
  if (schema.type === 'object' && schema.properties) {
    const required = new Set((schema.required as string[] | undefined) ?? []);
    const example: JsonObject = {};
    // Required properties only: an optional one (a client-chosen id) would be wrong on a PUT.
    for (const [name, property] of Object.entries(schema.properties as Record<string, JsonObject>)) {
      if (!required.has(name)) continue;
      const value = exampleFromSchema(property);
      if (value === undefined) return undefined;
      example[name] = value;
    }
    return example;
  }
  if (schema.type === 'array' && schema.items) {
    const item = exampleFromSchema(schema.items as JsonObject);
    return item === undefined ? undefined : [item];
  }
  if (schema.type === 'null') return null;
  return undefined;
}

/** OpenAPI parameters for the properties of an object schema (path or query). */
function parametersFrom(schemaName: SchemaName, location: 'path' | 'query'): JsonObject[] {
  const schema = plainSchema(schemasByName[schemaName]);
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return Object.entries((schema.properties ?? {}) as Record<string, JsonObject>).map(([name, property]) => {
    const { description, ...propertySchema } = property;
    return {
      name,
      in: location,
      // Path parameters are always required in OpenAPI.
      required: location === 'path' || required.has(name),
      ...(typeof description === 'string' && { description }),
      schema: propertySchema,
    };
  });
}

/** A problem+json response: by reference when the route adds nothing, else with its own description. */
function problemResponse(status: number, operationId: string): JsonObject {
  const specific = operationProblemDescriptions[operationId]?.[status];
  const known = problemDescriptions[status];
  if (!known) throw new Error(`No description for problem status ${status} (operation ${operationId})`);
  if (!specific) return { $ref: `#/components/responses/${known.name}` };
  return problemResponseComponent(status, specific);
}

/** The response for one problem status; reusable unless a route gives its own description. */
function problemResponseComponent(status: number, routeDescription?: string): JsonObject {
  const known = problemDescriptions[status];
  if (!known) throw new Error(`No description for problem status ${status}`);
  const description = routeDescription ?? known.description;
  const headers: JsonObject = commonHeaders();
  if (status === 401) headers['WWW-Authenticate'] = headerRef('WWWAuthenticate');
  if (status === 403) headers['WWW-Authenticate'] = headerRef('WWWAuthenticateScope');
  if (status === 409) headers['Retry-After'] = headerRef('RetryAfterOptional');
  if (status === 503) headers['Retry-After'] = headerRef('RetryAfter');
  return {
    description,
    headers,
    content: {
      [PROBLEM_MEDIA_TYPE]: {
        schema: schemaRef('ProblemDetails'),
        example: { type: 'about:blank', title: known.title, status, detail: description },
      },
    },
  };
}

/** Responses that are one stored resource, so they carry its version as an `ETag`. */
const VERSIONED_RESOURCES = new Set<SchemaName>(['Service', 'Order']);

/** The success response of an API route. */
function successResponse(route: RouteDefinition): JsonObject {
  const headers: JsonObject = commonHeaders();
  const returnsOneResource = route.response !== undefined && VERSIONED_RESOURCES.has(route.response);
  if (route.successStatus === 201) {
    headers.Location = headerRef('Location');
    headers['Idempotent-Replayed'] = headerRef('IdempotentReplayed');
  }
  if (returnsOneResource) headers.ETag = headerRef('ETag');
  const description =
    route.successDescription ??
    (route.successStatus === 201
      ? 'Created. `Location` is the new resource’s path.'
      : route.successStatus === 204
        ? 'Deleted. No body.'
        : route.response?.endsWith('Page')
          ? 'One page, in order. `next` is the cursor of the following page, `null` on the last one.'
          : 'The resource.');
  return {
    description,
    headers,
    ...(route.response && { content: { [JSON_MEDIA_TYPE]: { schema: schemaRef(route.response) } } }),
  };
}

/** The body that replaces the first seeded record of a collection with its own content. */
function seededRecordBody(tag: RouteDefinition['tag']): JsonObject {
  const { id: _id, ...body } = tag === 'Services' ? SAMPLE_SERVICES[0] : SAMPLE_ORDERS[0];
  return body;
}

/** The operation object of an API route. */
function apiOperation(route: RouteDefinition): JsonObject {
  const parameters: JsonObject[] = [];
  if (route.pathParameters) {
    // Path examples name a record `npm run seed` creates, so "Try it out" finds it.
    const sampleId = route.tag === 'Services' ? SAMPLE_SERVICE_ID : SAMPLE_ORDER_ID;
    parameters.push(
      ...parametersFrom(route.pathParameters, 'path').map((parameter) =>
        parameter.name === 'id' ? { ...parameter, example: sampleId } : parameter,
      ),
    );
  }
  if (route.query) parameters.push(...parametersFrom(route.query, 'query'));
  if (route.method === 'POST') parameters.push({ $ref: '#/components/parameters/IdempotencyKey' });
  if (route.method === 'PUT' || route.method === 'DELETE') parameters.push({ $ref: '#/components/parameters/IfMatch' });

  const errorStatuses = [...new Set([...COMMON_ERROR_STATUSES, ...route.errorStatuses])].sort((a, b) => a - b);
  const responses: JsonObject = { [String(route.successStatus)]: successResponse(route) };
  for (const status of errorStatuses) responses[String(status)] = problemResponse(status, route.operationId);

  const notes = [`Requires a bearer token with the scope \`${route.scope}\`.`];
  if (route.query) notes.push('Unknown query parameters are a 400.');
  if (route.body) notes.push('Unknown body fields are a 400.');

  let requestBody: JsonObject | undefined;
  if (route.body) {
    // A PUT's example is the seeded record itself (its id in the path), so trying a POST and then
    // a PUT never moves one onto the other's time.
    const example =
      route.method === 'PUT' ? seededRecordBody(route.tag) : exampleFromSchema(plainSchema(schemasByName[route.body]));
    requestBody = {
      required: true,
      content: {
        [JSON_MEDIA_TYPE]: {
          schema: schemaRef(route.body),
          ...(example !== undefined && { example }),
        },
      },
    };
  }

  return {
    operationId: route.operationId,
    summary: route.summary,
    description: notes.join(' '),
    tags: [route.tag],
    security: [{ [BEARER_SCHEME]: [route.scope] }],
    ...(parameters.length > 0 && { parameters }),
    ...(requestBody && { requestBody }),
    responses,
  };
}

/** The operation object of a public documentation route. */
function publicOperation(route: PublicRouteDefinition): JsonObject {
  const parameters = route.pathParameters ? parametersFrom(route.pathParameters, 'path') : [];
  const content = Object.fromEntries(
    route.contentTypes.map((mediaType) => [
      mediaType,
      {
        schema:
          mediaType === JSON_MEDIA_TYPE
            ? { type: 'object', description: 'An OpenAPI 3.1 document' }
            : { type: 'string', description: `A ${mediaType} file` },
      },
    ]),
  );
  const responses: JsonObject = {
    [String(route.successStatus)]: {
      description: 'OK',
      headers: {
        'Cache-Control': {
          description:
            route.cacheControl === 'no-store' ? 'Never cached.' : 'May be cached: it changes only on deploy.',
          required: true,
          schema: { type: 'string', const: route.cacheControl },
        },
        'X-Content-Type-Options': headerRef('ContentTypeOptions'),
      },
      content,
    },
  };
  for (const status of [...route.errorStatuses, 500].sort((a, b) => a - b)) {
    responses[String(status)] = problemResponse(status, route.operationId);
  }
  return {
    operationId: route.operationId,
    summary: route.summary,
    description: 'Public: no token needed.',
    tags: [route.tag],
    security: [],
    ...(parameters.length > 0 && { parameters }),
    responses,
  };
}

const TAGS = [
  { name: 'Services', description: 'Service records that orders refer to.' },
  {
    name: 'Orders',
    description: 'Orders, each at least the order window (3 hours) away from every other order.',
  },
  { name: 'Documentation', description: 'This description and its browsable reference page. Public.' },
];

/** The OpenAPI 3.1 document of the API, built from the route table and the schemas. */
export function buildOpenApiDocument(): JsonObject {
  const paths: Record<string, JsonObject> = {};
  const addOperation = (path: string, method: string, operation: JsonObject) => {
    paths[path] ??= {};
    const pathItem = paths[path];
    if (pathItem[method]) throw new Error(`Two routes for ${method.toUpperCase()} ${path}`);
    pathItem[method] = operation;
  };
  for (const route of routes) addOperation(route.path, route.method.toLowerCase(), apiOperation(route));
  for (const route of publicRoutes) addOperation(route.path, route.method.toLowerCase(), publicOperation(route));

  // Only the problem responses some operation refers to: an unused component is noise to readers and linters.
  const referenced = JSON.stringify(paths);
  const responses = Object.fromEntries(
    Object.entries(problemDescriptions)
      .filter(([, { name }]) => referenced.includes(`"#/components/responses/${name}"`))
      .map(([status, { name }]) => [name, problemResponseComponent(Number(status))]),
  );

  return {
    // No top-level jsonSchemaDialect: OpenAPI 3.1's default is already the OAS base dialect, and
    // Stoplight Prism (5.x) skips body validation when the field is present (tests/tools).
    openapi: '3.1.0',
    info: {
      title: 'Order Management API',
      version: packageJson.version,
      // The package is private and grants no licence; say so rather than nothing. `LicenseRef-` is
      // SPDX's form for a licence it does not list.
      license: { name: 'Proprietary: no rights granted', identifier: 'LicenseRef-Proprietary' },
      description:
        'Service records and orders. Every response is JSON; every error is `application/problem+json` ' +
        '(RFC 9457). Every operation except the documentation needs a bearer token (JWT) carrying the ' +
        "operation's scope. Creates accept an `Idempotency-Key`; updates and deletes accept `If-Match` " +
        'with an `ETag` from an earlier response.',
    },
    servers: [{ url: '/', description: 'The host that serves this document' }],
    tags: TAGS,
    paths,
    components: {
      schemas: {
        ...Object.fromEntries(COMPONENT_SCHEMA_NAMES.map((name) => [name, plainSchema(schemasByName[name])])),
        ProblemDetails: plainSchema(ProblemDetails),
      },
      responses,
      parameters: parameterComponents,
      headers: headerComponents,
      securitySchemes: {
        [BEARER_SCHEME]: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'A JWT in `Authorization: Bearer <token>`. Its `scope` claim (space-separated) must include the scope ' +
            'each operation lists: `orders:read`, `orders:write`, `services:read` or `services:write`. ' +
            'Locally, `npm run token` prints one.',
        },
      },
    },
  };
}
