import { afterAll, beforeAll } from 'vitest';
import { resetConfig } from '#lib/config';
import { closeConnection } from '#lib/db/client';
import { handler as getOrderAvailability } from '../../functions/orders/availability.ts';
import { handler as createOrder } from '../../functions/orders/create.ts';
import { handler as deleteOrder } from '../../functions/orders/delete.ts';
import { handler as getOrder } from '../../functions/orders/get.ts';
import { handler as listOrders } from '../../functions/orders/list.ts';
import { handler as updateOrder } from '../../functions/orders/update.ts';
import { handler as createService } from '../../functions/services/create.ts';
import { handler as deleteService } from '../../functions/services/delete.ts';
import { handler as getService } from '../../functions/services/get.ts';
import { handler as listServices } from '../../functions/services/list.ts';
import { handler as updateService } from '../../functions/services/update.ts';
import { invoke, type TestResponse } from './apiEvents.ts';
import { testAuthEnvironment } from './auth.ts';
import { testMongoUri, uniqueDbName } from './mongo.ts';

/** Every route's handler, as the tests call them. */
export const handlers = {
  createOrder,
  deleteOrder,
  getOrder,
  listOrders,
  updateOrder,
  getOrderAvailability,
  createService,
  deleteService,
  getService,
  listServices,
  updateService,
};

/**
 * Points the handlers at a database of this test file's own on the suite's MongoDB, and
 * closes the shared client afterwards. Returns the database name.
 */
export function useApiDatabase(prefix: string, env: Record<string, string> = {}): { dbName: string } {
  const state = { dbName: uniqueDbName(prefix) };
  beforeAll(async () => {
    process.env.MONGODB_URI = testMongoUri();
    process.env.MONGODB_DATABASE = state.dbName;
    for (const [name, value] of Object.entries({ ...(await testAuthEnvironment()), ...env })) process.env[name] = value;
    resetConfig();
    await closeConnection();
  });
  afterAll(async () => {
    await closeConnection();
  });
  return state;
}

/** Small wrappers so tests read as the API: each returns the handler's answer. */
export const api = {
  createService: (body: unknown, headers?: Record<string, string>) =>
    invoke(createService, { method: 'POST', route: '/services', body, ...(headers && { headers }) }),
  getService: (id: string) => invoke(getService, { method: 'GET', route: '/services/{id}', pathParameters: { id } }),
  listServices: (query?: Record<string, string>) =>
    invoke(listServices, { method: 'GET', route: '/services', ...(query && { query }) }),
  updateService: (id: string, body: unknown, headers?: Record<string, string>) =>
    invoke(updateService, {
      method: 'PUT',
      route: '/services/{id}',
      pathParameters: { id },
      body,
      ...(headers && { headers }),
    }),
  deleteService: (id: string, headers?: Record<string, string>) =>
    invoke(deleteService, {
      method: 'DELETE',
      route: '/services/{id}',
      pathParameters: { id },
      ...(headers && { headers }),
    }),
  createOrder: (body: unknown, headers?: Record<string, string>) =>
    invoke(createOrder, { method: 'POST', route: '/orders', body, ...(headers && { headers }) }),
  getOrder: (id: string) => invoke(getOrder, { method: 'GET', route: '/orders/{id}', pathParameters: { id } }),
  listOrders: (query?: Record<string, string>) =>
    invoke(listOrders, { method: 'GET', route: '/orders', ...(query && { query }) }),
  updateOrder: (id: string, body: unknown, headers?: Record<string, string>) =>
    invoke(updateOrder, {
      method: 'PUT',
      route: '/orders/{id}',
      pathParameters: { id },
      body,
      ...(headers && { headers }),
    }),
  deleteOrder: (id: string, headers?: Record<string, string>) =>
    invoke(deleteOrder, {
      method: 'DELETE',
      route: '/orders/{id}',
      pathParameters: { id },
      ...(headers && { headers }),
    }),
  orderAvailability: (query?: Record<string, string>) =>
    invoke(getOrderAvailability, { method: 'GET', route: '/orders/availability', ...(query && { query }) }),
};

/** Follows `next` from the first page to the last and returns every item's id in order. */
export async function collectAllIds(
  list: (query?: Record<string, string>) => Promise<TestResponse>,
  query: Record<string, string> = {},
): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await list({ ...query, ...(cursor && { cursor }) });
    if (page.status !== 200) throw new Error(`list answered ${page.status}: ${page.rawBody}`);
    const body = page.body as { items: { id: string }[]; next: string | null };
    ids.push(...body.items.map((item) => item.id));
    cursor = body.next;
  } while (cursor);
  return ids;
}
