import { createOrder } from '#lib/app/orders';
import { httpHandler } from '#lib/http/httpHandler';
import { created } from '#lib/http/responses';
import { validateOrderInput } from '#lib/schemas/validators';

/** POST /orders */
export const handler = httpHandler('createOrder', { body: validateOrderInput }, async ({ body }) =>
  created(await createOrder(body), '/orders'),
);
