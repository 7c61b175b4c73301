/**
 * The API's routes in one table: the OpenAPI document is generated from it, each handler
 * takes its required scope from it, and a test checks serverless.yml declares the same
 * routes. Schemas are named, not imported, so Lambda bundles never pull in TypeBox.
 */

import type { MetricName } from '#lib/observability/metricNames';

/** A scope a bearer token must carry for a route. */
export type Scope = 'orders:read' | 'orders:write' | 'services:read' | 'services:write';

/** Names of the schemas in lib/schemas that routes refer to. */
export type SchemaName =
  | 'ServiceInput'
  | 'Service'
  | 'ServicePage'
  | 'ServiceListQuery'
  | 'OrderInput'
  | 'Order'
  | 'OrderPage'
  | 'OrderListQuery'
  | 'AvailabilityQuery'
  | 'Availability'
  | 'IdPathParameters'
  | 'OrderIdPathParameters'
  | 'DocsAssetPathParameters';

/** One route: its Lambda, HTTP shape, scope and schemas. */
export interface RouteDefinition {
  /** The function's key in serverless.yml. */
  functionName: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  operationId: string;
  summary: string;
  tag: 'Services' | 'Orders';
  scope: Scope;
  successStatus: 200 | 201 | 204;
  /**
   * The metric a success counts (lib/http/middleware/metrics.ts), for the writes; reads count
   * none. A result may name another (PUT /orders/{id}: OrderMoved when the datetime changed).
   */
  successMetric?: MetricName;
  pathParameters?: SchemaName;
  query?: SchemaName;
  body?: SchemaName;
  response?: SchemaName;
  /** The success response's description, when the generic one (a resource, a page) does not fit. */
  successDescription?: string;
  /** Error statuses this route can answer besides the ones every route can (400, 401, 403, 500, 503). */
  errorStatuses: number[];
}

const resourceErrors = [404];
const bodyErrors = [413, 415];

/** Every API route. */
export const routes: readonly RouteDefinition[] = [
  {
    functionName: 'createService',
    method: 'POST',
    path: '/services',
    operationId: 'createService',
    summary: 'Create a service record',
    tag: 'Services',
    scope: 'services:write',
    successStatus: 201,
    successMetric: 'ServiceCreated',
    body: 'ServiceInput',
    response: 'Service',
    errorStatuses: [409, 422, ...bodyErrors],
  },
  {
    functionName: 'listServices',
    method: 'GET',
    path: '/services',
    operationId: 'listServices',
    summary: 'List service records in id order',
    tag: 'Services',
    scope: 'services:read',
    successStatus: 200,
    query: 'ServiceListQuery',
    response: 'ServicePage',
    errorStatuses: [],
  },
  {
    functionName: 'getService',
    method: 'GET',
    path: '/services/{id}',
    operationId: 'getService',
    summary: 'Get one service record',
    tag: 'Services',
    scope: 'services:read',
    successStatus: 200,
    pathParameters: 'IdPathParameters',
    response: 'Service',
    errorStatuses: resourceErrors,
  },
  {
    functionName: 'updateService',
    method: 'PUT',
    path: '/services/{id}',
    operationId: 'replaceService',
    summary: 'Replace a service record',
    tag: 'Services',
    scope: 'services:write',
    successStatus: 200,
    successMetric: 'ServiceUpdated',
    pathParameters: 'IdPathParameters',
    body: 'ServiceInput',
    response: 'Service',
    errorStatuses: [...resourceErrors, 412, ...bodyErrors],
  },
  {
    functionName: 'deleteService',
    method: 'DELETE',
    path: '/services/{id}',
    operationId: 'deleteService',
    summary: 'Delete a service record no order references',
    tag: 'Services',
    scope: 'services:write',
    successStatus: 204,
    successMetric: 'ServiceDeleted',
    pathParameters: 'IdPathParameters',
    errorStatuses: [...resourceErrors, 409, 412],
  },
  {
    functionName: 'createOrder',
    method: 'POST',
    path: '/orders',
    operationId: 'createOrder',
    summary: 'Create an order at least 3 hours from every other order',
    tag: 'Orders',
    scope: 'orders:write',
    successStatus: 201,
    successMetric: 'OrderCreated',
    body: 'OrderInput',
    response: 'Order',
    errorStatuses: [409, 422, ...bodyErrors],
  },
  {
    functionName: 'listOrders',
    method: 'GET',
    path: '/orders',
    operationId: 'listOrders',
    summary: 'List orders in datetime order, optionally within [from, to)',
    tag: 'Orders',
    scope: 'orders:read',
    successStatus: 200,
    query: 'OrderListQuery',
    response: 'OrderPage',
    errorStatuses: [],
  },
  {
    // A static path: API Gateway and serverless-offline both prefer it to `/orders/{id}`, and
    // `availability` is refused as an order id (lib/domain/ids.ts) so no order is hidden behind it.
    functionName: 'getOrderAvailability',
    method: 'GET',
    path: '/orders/availability',
    operationId: 'getOrderAvailability',
    summary: 'Free intervals within [from, to) where a new order may be placed',
    tag: 'Orders',
    scope: 'orders:read',
    successStatus: 200,
    query: 'AvailabilityQuery',
    response: 'Availability',
    successDescription:
      'The intervals of `[from, to)` where a new order would be accepted now, given the stored orders and the window.',
    errorStatuses: [],
  },
  {
    functionName: 'getOrder',
    method: 'GET',
    path: '/orders/{id}',
    operationId: 'getOrder',
    summary: 'Get one order',
    tag: 'Orders',
    scope: 'orders:read',
    successStatus: 200,
    pathParameters: 'OrderIdPathParameters',
    response: 'Order',
    errorStatuses: resourceErrors,
  },
  {
    functionName: 'updateOrder',
    method: 'PUT',
    path: '/orders/{id}',
    operationId: 'replaceOrder',
    summary: 'Replace (or move) an order under the same 3-hour rule',
    tag: 'Orders',
    scope: 'orders:write',
    successStatus: 200,
    successMetric: 'OrderUpdated',
    pathParameters: 'OrderIdPathParameters',
    body: 'OrderInput',
    response: 'Order',
    errorStatuses: [...resourceErrors, 409, 412, 422, ...bodyErrors],
  },
  {
    functionName: 'deleteOrder',
    method: 'DELETE',
    path: '/orders/{id}',
    operationId: 'deleteOrder',
    summary: 'Delete an order',
    tag: 'Orders',
    scope: 'orders:write',
    successStatus: 204,
    successMetric: 'OrderDeleted',
    pathParameters: 'OrderIdPathParameters',
    errorStatuses: [...resourceErrors, 412],
  },
];

/**
 * A route anyone may call without a token: the API's own description and its reference page.
 * Kept apart from `routes` so code that reads a route's scope never meets one without it.
 */
export interface PublicRouteDefinition {
  /** The function's key in serverless.yml. */
  functionName: string;
  method: 'GET';
  path: string;
  operationId: string;
  summary: string;
  tag: 'Documentation';
  /** No bearer token is required: OpenAPI `security: []`. */
  security: false;
  successStatus: 200;
  /** Media types the success response may have (a route serving files has several). */
  contentTypes: readonly string[];
  /** The success response's `cache-control`: files that only change with a deployment may be cached. */
  cacheControl: string;
  pathParameters?: SchemaName;
  /** The same path with a trailing slash is answered with a 308 to this one (a page with relative links). */
  redirectsTrailingSlash?: true;
  /** Error statuses besides 500. */
  errorStatuses: number[];
}

/** The public documentation routes, served by functions/docs. */
export const publicRoutes: readonly PublicRouteDefinition[] = [
  {
    functionName: 'openApiDocument',
    method: 'GET',
    path: '/openapi.json',
    operationId: 'getOpenApiDocument',
    summary: 'This OpenAPI document',
    tag: 'Documentation',
    security: false,
    successStatus: 200,
    contentTypes: ['application/json'],
    cacheControl: 'no-store',
    errorStatuses: [],
  },
  {
    functionName: 'apiDocs',
    method: 'GET',
    path: '/docs',
    operationId: 'getApiDocsPage',
    summary: 'A browsable reference of this API (Swagger UI)',
    tag: 'Documentation',
    security: false,
    successStatus: 200,
    contentTypes: ['text/html'],
    cacheControl: 'no-store',
    redirectsTrailingSlash: true,
    errorStatuses: [],
  },
  {
    functionName: 'apiDocs',
    method: 'GET',
    path: '/docs/{asset}',
    operationId: 'getApiDocsAsset',
    summary: 'A script or style sheet of the reference page, bundled with the API (no CDN)',
    tag: 'Documentation',
    security: false,
    successStatus: 200,
    contentTypes: ['text/javascript', 'text/css'],
    cacheControl: 'public, max-age=3600',
    pathParameters: 'DocsAssetPathParameters',
    // 400: a name that is not valid percent-encoding is refused before the function runs.
    errorStatuses: [400, 404],
  },
];

/** The route a function serves; throws for an unknown function name (a wiring bug). */
export function routeFor(functionName: string): RouteDefinition {
  const route = routes.find((candidate) => candidate.functionName === functionName);
  if (!route) throw new Error(`No route is defined for function ${functionName}`);
  return route;
}
