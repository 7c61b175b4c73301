import { replaceOrder } from '#lib/app/orders';
import { httpHandler } from '#lib/http/httpHandler';
import { relayAfterWrite } from '#lib/http/middleware/relayEvents';
import { okVersioned } from '#lib/http/responses';
import { validateOrderInput } from '#lib/schemas/bodyValidators';
import { validateOrderIdPath } from '#lib/schemas/parameterValidators';

/** PUT /orders/{id} (honours If-Match) */
export const handler = httpHandler(
  'updateOrder',
  { path: validateOrderIdPath, body: validateOrderInput },
  async ({ path, body, precondition }) => okVersioned(await replaceOrder(path.id, body, precondition)),
  [relayAfterWrite()],
);
