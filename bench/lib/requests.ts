/**
 * Realistic API Gateway HTTP API (v2) events for in-process invocations, built with the tests'
 * `apiGatewayEvent`, plus what a deployed function receives on top: the bearer token header and
 * the JWT authorizer's claims and scopes in requestContext (the handlers run in gateway mode,
 * as deployed). Also the seeding helpers: documents in the exact shape the repositories write.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { Db } from 'mongodb';
import { apiGatewayEvent, lambdaContext, type TestRequest } from '../../tests/support/apiEvents.ts';

export { lambdaContext };

/** A Lambda handler as invoked here: the API's handlers and the serverless-http baseline alike. */
export type Invocable = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;

const ALL_SCOPES = ['orders:read', 'orders:write', 'services:read', 'services:write'];
// A syntactically valid JWT; in gateway mode API Gateway has already verified it.
const TOKEN =
  'eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJiZW5jaCIsInNjb3BlIjoib3JkZXJzOnJlYWQgb3JkZXJzOndyaXRlIn0.c2lnbmF0dXJlLW5vdC1jaGVja2VkLWluLWdhdGV3YXktbW9kZQ';

export function gatewayEvent(request: TestRequest): APIGatewayProxyEventV2 {
  const event = apiGatewayEvent({ ...request, headers: { authorization: `Bearer ${TOKEN}`, ...request.headers } });
  const now = Math.floor(Date.now() / 1000);
  (event.requestContext as unknown as { authorizer: unknown }).authorizer = {
    jwt: {
      claims: {
        sub: 'bench-client',
        iss: 'https://dev-issuer.order-management-api.local',
        aud: 'order-management-api',
        iat: now,
        exp: now + 3600,
        scope: ALL_SCOPES.join(' '),
      },
      scopes: ALL_SCOPES,
    },
  };
  return event;
}

export const events = {
  getOrder: (id: string) => gatewayEvent({ method: 'GET', route: '/orders/{id}', pathParameters: { id } }),
  listOrders: (query: Record<string, string>) => gatewayEvent({ method: 'GET', route: '/orders', query }),
  createOrder: (body: unknown, headers?: Record<string, string>) =>
    gatewayEvent({ method: 'POST', route: '/orders', body, ...(headers && { headers }) }),
  updateOrder: (id: string, body: unknown) =>
    gatewayEvent({ method: 'PUT', route: '/orders/{id}', pathParameters: { id }, body }),
};

/** Invokes and checks the status: a benchmark of error paths would measure the wrong thing. */
export async function call(handler: Invocable, event: APIGatewayProxyEventV2, expected: number): Promise<void> {
  const result = (await handler(event, lambdaContext())) as APIGatewayProxyStructuredResultV2;
  if (result.statusCode !== expected) {
    throw new Error(`${event.routeKey} answered ${result.statusCode}, expected ${expected}: ${result.body}`);
  }
}

export const HOUR = 3_600_000;
/** Seeded orders are 8 hours apart; a new order goes 4 hours after one of them, so 3-hour rule passes. */
export const SEED_SPACING = 8 * HOUR;
export const SEED_BASE = Date.UTC(2040, 0, 1);

export const SERVICE_IDS = ['svc-wash', 'svc-inspect', 'svc-repair', 'svc-paint', 'svc-deliver'];

export async function seedServices(db: Db): Promise<void> {
  const now = new Date();
  await db
    .collection<{ _id: string }>('services')
    .insertMany(SERVICE_IDS.map((id) => ({ _id: id, name: id, createdAt: now, updatedAt: now, version: 1 })));
}

export function seedOrderId(i: number): string {
  return `seed-${String(i).padStart(7, '0')}`;
}

/** Inserts seeded orders [from, to) with the document shape ordersRepository writes. */
export async function seedOrders(db: Db, from: number, to: number, batch = 10_000): Promise<void> {
  const now = new Date();
  for (let start = from; start < to; start += batch) {
    const docs = [];
    for (let i = start; i < Math.min(to, start + batch); i++) {
      docs.push({
        _id: seedOrderId(i),
        datetime: new Date(SEED_BASE + i * SEED_SPACING),
        totalfee: 100 + (i % 50),
        services: [{ id: SERVICE_IDS[i % SERVICE_IDS.length] as string }],
        createdAt: now,
        updatedAt: now,
        version: 1,
      });
    }
    await db.collection<{ _id: string }>('orders').insertMany(docs, { ordered: false });
  }
}

/** The free slot 4 hours after seeded order `i`. */
export function slotAfter(i: number): Date {
  return new Date(SEED_BASE + i * SEED_SPACING + 4 * HOUR);
}

export function orderBody(datetime: Date, i: number): unknown {
  return {
    datetime: datetime.toISOString(),
    totalfee: 120.5,
    services: [{ id: SERVICE_IDS[i % SERVICE_IDS.length] }, { id: SERVICE_IDS[(i + 1) % SERVICE_IDS.length] }],
  };
}
