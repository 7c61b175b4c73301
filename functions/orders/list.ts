import { listOrders } from '#lib/app/orders';
import { httpHandler } from '#lib/http/httpHandler';
import { ok } from '#lib/http/responses';
import { validateOrderListQuery } from '#lib/schemas/parameterValidators';

/** GET /orders */
export const handler = httpHandler('listOrders', { query: validateOrderListQuery }, async ({ query }) =>
  ok(await listOrders(query)),
);
