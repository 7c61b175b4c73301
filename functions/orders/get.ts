import { getOrder } from '#lib/app/orders';
import { httpHandler } from '#lib/http/httpHandler';
import { okVersioned } from '#lib/http/responses';
import { validateOrderIdPath } from '#lib/schemas/parameterValidators';

/** GET /orders/{id} */
export const handler = httpHandler('getOrder', { path: validateOrderIdPath }, async ({ path }) =>
  okVersioned(await getOrder(path.id)),
);
