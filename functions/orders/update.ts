import { replaceOrder } from '#lib/app/orders';
import { httpHandler } from '#lib/http/httpHandler';
import { ok } from '#lib/http/responses';
import { validateIdPath, validateOrderInput } from '#lib/schemas/validators';

/** PUT /orders/{id} */
export const handler = httpHandler({ path: validateIdPath, body: validateOrderInput }, async ({ path, body }) =>
  ok(await replaceOrder(path.id, body)),
);
