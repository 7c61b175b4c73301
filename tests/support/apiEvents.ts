import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { TokenOptions } from '#dev/auth/devIssuer';
import type { ApiHandler } from '#lib/http/httpHandler';
import { bearer } from './auth.ts';
import { assertResponseMatchesContract } from './contract.ts';

/** A request as a test describes it. */
export interface TestRequest {
  method: string;
  /** The route key's path, e.g. `/orders/{id}`; the raw path is built from it and pathParameters. */
  route: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  /** An object is sent as JSON; a string is sent as is. */
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * The bearer token to send: by default a valid one with every scope; options shape it
   * (scopes, expiry…); `false` sends none. An explicit `authorization` header wins.
   */
  auth?: false | TokenOptions;
}

/** What a handler answered, with the body parsed when it is JSON. */
export interface TestResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  rawBody: string | undefined;
}

/**
 * Builds an API Gateway HTTP API (payload format 2.0) event the way API Gateway sends it:
 * lower-case headers, rawPath and rawQueryString, routeKey, requestContext.http.
 */
export function apiGatewayEvent(request: TestRequest): APIGatewayProxyEventV2 {
  const rawPath = request.route.replace(/\{(\w+)\}/g, (_m, name: string) =>
    encodeURIComponent(request.pathParameters?.[name] ?? ''),
  );
  const body =
    request.body === undefined
      ? undefined
      : typeof request.body === 'string'
        ? request.body
        : JSON.stringify(request.body);
  const headers: Record<string, string> = {
    accept: 'application/json',
    host: 'api.example.test',
    'user-agent': 'vitest',
    'x-forwarded-proto': 'https',
    ...(body !== undefined && {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
    }),
  };
  for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value;
  for (const [name, value] of Object.entries(headers)) if (value === '') delete headers[name];
  const requestId = randomUUID();
  return {
    version: '2.0',
    routeKey: `${request.method} ${request.route}`,
    rawPath,
    rawQueryString: new URLSearchParams(request.query ?? {}).toString(),
    headers,
    ...(request.query && { queryStringParameters: { ...request.query } }),
    ...(request.pathParameters && { pathParameters: { ...request.pathParameters } }),
    ...(body !== undefined && { body }),
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'testapi',
      domainName: 'api.example.test',
      domainPrefix: 'api',
      http: {
        method: request.method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.7',
        userAgent: 'vitest',
      },
      requestId,
      routeKey: `${request.method} ${request.route}`,
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
  };
}

/** A Lambda context good enough for the handlers. */
export function lambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:test',
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/test',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => 10_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** Invokes a handler with a request (and a Lambda context: by default 10 s left) and returns its answer. */
export async function invoke(
  handler: ApiHandler,
  request: TestRequest,
  context: Context = lambdaContext(),
): Promise<TestResponse> {
  const hasAuthorization = Object.keys(request.headers ?? {}).some((name) => name.toLowerCase() === 'authorization');
  const requestHeaders: Record<string, string> = { ...request.headers };
  if (request.auth !== false && !hasAuthorization) requestHeaders.authorization = await bearer(request.auth);
  const event = apiGatewayEvent({ ...request, headers: requestHeaders });
  const result = await handler(event, context);
  const headers = Object.fromEntries(
    Object.entries(result.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
  );
  const rawBody = result.body;
  const isJson = /json/.test(headers['content-type'] ?? '');
  const response: TestResponse = {
    status: result.statusCode ?? 200,
    headers,
    body: isJson && rawBody ? JSON.parse(rawBody) : rawBody,
    rawBody,
  };
  // Contract check: the response must be one openapi.json allows (throws ContractViolation).
  assertResponseMatchesContract({ method: request.method, path: request.route, routeKey: event.routeKey }, response);
  return response;
}

/** Every scope the API's routes ask for: what a client with full access presents. */
const ALL_SCOPES = ['orders:read', 'orders:write', 'services:read', 'services:write'];

/**
 * An event as API Gateway sends it after its JWT authorizer accepted a token with every scope (the
 * claims a deployed function reads in gateway mode), for tests that run packaged functions.
 */
export function authorizedGatewayEvent(request: TestRequest, sub = 'dry-run-client'): APIGatewayProxyEventV2 {
  const event = apiGatewayEvent(request);
  (event.requestContext as unknown as Record<string, unknown>).authorizer = {
    jwt: { claims: { sub, scope: ALL_SCOPES.join(' ') }, scopes: ALL_SCOPES },
  };
  return event;
}
