/**
 * Builds the API's OpenAPI 3.1 document from the route table (lib/http/routes.ts) and the
 * TypeBox schemas the request validators are compiled from (lib/schemas). TypeBox schemas are
 * JSON Schema already, and OpenAPI 3.1 speaks JSON Schema 2020-12, so they go in unchanged:
 * the document cannot drift from what the API validates. `npm run openapi` writes the result
 * to openapi.json; tests/contract/openapiFresh.test.ts fails when that file is stale.
 */
import type { TSchema } from '@sinclair/typebox';
import { DEFAULT_JWT_ISSUER } from '#lib/config';
import { PROBLEMS, type ProblemKind, type ProblemName } from '#lib/http/problems';
import {
  type PublicRouteDefinition,
  publicRoutes,
  type RouteDefinition,
  routes,
  type SchemaName,
} from '#lib/http/routes';
import { IdempotencyKeyHeader, IfMatchHeader } from '#lib/schemas/headers';
import { ProblemDetails, schemasByName } from '#lib/schemas/index';
import { SAMPLE_ORDER_ID, SAMPLE_ORDERS, SAMPLE_SERVICE_ID, SAMPLE_SERVICES } from '#lib/schemas/samples';
import packageJson from '../../package.json' with { type: 'json' };

/** A JSON object as it appears in the document. */
export type JsonObject = { [key: string]: unknown };

/**
 * The security scheme that names each operation's scope: OAuth 2.0, whose flows list the scopes
 * so linters, code generators and Swagger UI can read them (`http` bearer cannot list scopes, and
 * Spectral cannot check an `openIdConnect` scheme's, which live in the issuer's discovery document).
 */
export const OAUTH_SCHEME = 'oauth2';

/**
 * The same token sent as a plain bearer token, for clients (and Swagger UI's Authorize dialog) that
 * already hold one: an alternative to OAUTH_SCHEME, not an addition. Its scope is the one OAUTH_SCHEME names.
 */
export const BEARER_SCHEME = 'bearerAuth';

/** The scopes of the API, with what each allows (the route table says which operation needs which). */
const SCOPE_DESCRIPTIONS: Record<RouteDefinition['scope'], string> = {
  'orders:read': 'Read orders and where new ones may go',
  'orders:write': 'Create, replace and delete orders',
  'services:read': 'Read service records',
  'services:write': 'Create, replace and delete service records',
};

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
    schema: plainSchema(IdempotencyKeyHeader),
  },
  IfMatch: {
    name: 'If-Match',
    in: 'header',
    required: false,
    description:
      'Apply the change only if the resource is still at this version (the `ETag` of an earlier response), ' +
      'otherwise answer 412. `*` matches any version; a value that is neither `*` nor a list of entity tags is a 400.',
    schema: plainSchema(IfMatchHeader),
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

const otherBodyId = 'or an `id` in the body other than the one in the path';
const foreignCursor = 'or a `cursor` that is not a `next` this list returned';
for (const [operationId, addition] of [
  ['replaceService', otherBodyId],
  ['replaceOrder', otherBodyId],
  ['listServices', foreignCursor],
  ['listOrders', foreignCursor],
] as const) {
  // What JSON Schema cannot say (a relation between two parts of the request, a token only the
  // server can read) is said here, in the 400's description.
  operationProblemDescriptions[operationId] = {
    ...operationProblemDescriptions[operationId],
    400: `${problemDescriptions[400]?.description.replace(/\.$/, '')}, ${addition}.`,
  };
}

/**
 * The kinds of problem (lib/http/problems.ts) each status stands for, when the operation does not
 * say otherwise: the examples of each error response are built from them, so an example's `type`
 * and `title` are the ones the server sends.
 */
const defaultProblemKinds: Record<number, readonly ProblemName[]> = {
  400: ['validationError'],
  401: ['unauthorized'],
  403: ['insufficientScope'],
  404: ['notFound'],
  412: ['preconditionFailed'],
  413: ['contentTooLarge'],
  415: ['unsupportedMediaType'],
  500: ['internalError'],
  503: ['databaseUnavailable', 'deadlineExceeded'],
};

/** A body that the middleware parses may also be refused as malformed JSON or as a too precise number. */
const bodyProblemKinds: readonly ProblemName[] = ['validationError', 'malformedJson', 'inexactNumber'];

/** Operation-specific kinds, by operationId. */
const operationProblemKinds: Record<string, Partial<Record<number, readonly ProblemName[]>>> = {
  createService: {
    400: bodyProblemKinds,
    409: ['duplicateId', 'idempotencyKeyInProgress'],
    422: ['idempotencyKeyReused'],
  },
  replaceService: { 400: bodyProblemKinds, 503: ['databaseUnavailable', 'writeContention', 'deadlineExceeded'] },
  deleteService: { 409: ['serviceInUse'], 503: ['databaseUnavailable', 'writeContention', 'deadlineExceeded'] },
  createOrder: {
    400: bodyProblemKinds,
    409: ['orderWindowConflict', 'duplicateId', 'idempotencyKeyInProgress'],
    422: ['unknownServices', 'idempotencyKeyReused'],
    503: ['databaseUnavailable', 'writeContention', 'deadlineExceeded'],
  },
  replaceOrder: {
    400: bodyProblemKinds,
    409: ['orderWindowConflict'],
    422: ['unknownServices'],
    503: ['databaseUnavailable', 'writeContention', 'deadlineExceeded'],
  },
  deleteOrder: { 503: ['databaseUnavailable', 'writeContention', 'deadlineExceeded'] },
  // Refused by the HTTP layer before the function runs, in its own words: no example of ours.
  getApiDocsAsset: { 400: [], 404: ['noSuchPath'] },
};

/** A sample `detail` (and extension members) for each kind, as the server words it. */
const problemSamples: Record<ProblemName, JsonObject> = {
  validationError: {
    detail: 'body /totalfee: must be >= 0',
    errors: [{ in: 'body', pointer: '/totalfee', detail: 'must be >= 0' }],
  },
  malformedJson: { detail: 'The body is not valid JSON' },
  inexactNumber: {
    detail:
      'The number 1.0000000000000001 has more digits than this API can store exactly (about 15 significant digits); send it with fewer',
  },
  unauthorized: { detail: 'The bearer token is invalid or expired' },
  insufficientScope: { detail: "This route needs a token with the scope 'orders:write'" },
  notFound: { detail: "No order with id '999'" },
  noSuchPath: { detail: "The reference page has no file named 'secrets.txt'" },
  orderWindowConflict: {
    detail: 'Another order (223) is scheduled less than 180 minutes from this datetime',
    conflictingOrderId: '223',
    nearestAvailable: { before: '2022-11-01T08:11:11.111Z', after: '2022-11-01T20:11:11.111Z' },
  },
  duplicateId: { detail: "An order with id '223' already exists" },
  serviceInUse: { detail: "Service '123' is referenced by order '223' and cannot be deleted" },
  idempotencyKeyInProgress: {
    detail: 'A request with this Idempotency-Key is still being processed; retry shortly',
  },
  preconditionFailed: {
    detail: "The order '223' has changed (it is now at version 4); fetch it again and retry",
  },
  contentTooLarge: { detail: 'The body is 70000 bytes; the limit is 65536' },
  unsupportedMediaType: { detail: "Send the body as application/json (got 'text/plain')" },
  unknownServices: { detail: 'These services do not exist: 999', missingServiceIds: ['999'] },
  idempotencyKeyReused: { detail: 'This Idempotency-Key was already used with a different body' },
  internalError: {
    detail: 'Something went wrong on our side; quote correlation id 3f2c… when reporting it',
    correlationId: '3f2c…',
  },
  databaseUnavailable: { detail: 'The database cannot be reached right now; retry shortly' },
  writeContention: {
    detail: 'Concurrent writes to the same records kept conflicting with this request until its time budget ran out',
  },
  deadlineExceeded: {
    detail: 'The request did not finish within the time limit and may or may not have been applied; retry it',
  },
};

/** The kinds of problem an operation's response of this status stands for. */
function problemKindsFor(status: number, operationId?: string): readonly ProblemName[] {
  const kinds = (operationId && operationProblemKinds[operationId]?.[status]) ?? defaultProblemKinds[status];
  if (!kinds) throw new Error(`No problem kinds for status ${status} (operation ${operationId ?? 'any'})`);
  return kinds;
}

/** The example of one kind of problem: its type, title and status from PROBLEMS. */
function problemExample(name: ProblemName): JsonObject {
  const kind: ProblemKind = PROBLEMS[name];
  return { type: kind.type, title: kind.title, status: kind.status, ...problemSamples[name] };
}

/** `example` for one kind, named `examples` for several, nothing for none. */
function problemExamples(kinds: readonly ProblemName[]): JsonObject {
  if (kinds.length === 0) return {};
  if (kinds.length === 1) return { example: problemExample(kinds[0] as ProblemName) };
  return {
    examples: Object.fromEntries(
      kinds.map((name) => [name, { summary: PROBLEMS[name].title, value: problemExample(name) }]),
    ),
  };
}

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
  const kinds = problemKindsFor(status, operationId);
  if (!specific && kinds === defaultProblemKinds[status]) return { $ref: `#/components/responses/${known.name}` };
  return problemResponseComponent(status, kinds, specific);
}

/** The response for one problem status; reusable unless a route gives its own description. */
function problemResponseComponent(
  status: number,
  kinds: readonly ProblemName[] = problemKindsFor(status),
  routeDescription?: string,
): JsonObject {
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
      [PROBLEM_MEDIA_TYPE]: { schema: schemaRef('ProblemDetails'), ...problemExamples(kinds) },
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
    // Alternatives: an OAuth 2.0 token carrying the scope, or the same token pasted as a bearer token.
    security: [{ [OAUTH_SCHEME]: [route.scope] }, { [BEARER_SCHEME]: [] }],
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
  if (route.redirectsTrailingSlash) {
    responses['308'] = {
      description:
        `Asked as \`${route.path}/\`, with a trailing slash: the page is at \`${route.path}\`, where its relative links ` +
        'resolve. `Location` is relative, so the redirect works wherever the API is mounted.',
      headers: {
        Location: {
          description: `\`..${route.path}\`, and the query string if there was one.`,
          required: true,
          schema: { type: 'string', examples: [`..${route.path}`] },
        },
        'Cache-Control': headerRef('CacheControl'),
        'X-Content-Type-Options': headerRef('ContentTypeOptions'),
      },
    };
  }
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
      // A name only: the project has no public address yet to point readers at.
      contact: { name: 'Order Management API maintainers' },
      description:
        'Service records and orders. Response bodies are JSON, every error `application/problem+json` ' +
        '(RFC 9457); the exceptions are this reference page and its files (HTML, JavaScript, CSS) and the ' +
        'empty bodies of a delete (204) and a redirect (308). Every operation ' +
        "except the documentation needs a bearer token (JWT) carrying the operation's scope. Creates accept an " +
        '`Idempotency-Key`; updates and deletes accept `If-Match` with an `ETag` from an earlier response.',
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
        [OAUTH_SCHEME]: {
          type: 'oauth2',
          description:
            "An access token (a JWT) from the deployment's OpenID Connect issuer, whose `scope` claim " +
            '(space-separated) includes the scope each operation lists; API Gateway checks its issuer, audience ' +
            "and signature. The token URL is the issuer's `token_endpoint` (from its " +
            '`/.well-known/openid-configuration`); the one below is the development default. ' +
            'Locally, `npm run token` prints a token with every scope.',
          flows: {
            clientCredentials: {
              tokenUrl: `${DEFAULT_JWT_ISSUER}/oauth2/token`,
              scopes: SCOPE_DESCRIPTIONS,
            },
          },
        },
        [BEARER_SCHEME]: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            `The access token of \`${OAUTH_SCHEME}\` sent as it is in \`Authorization: Bearer <token>\`, ` +
            "with the same rule: its `scope` claim must include the scope the operation's `oauth2` requirement " +
            'names. In Swagger UI, press **Authorize** and paste one (`npm run -s token | tail -1`).',
        },
      },
    },
  };
}
