import { deleteOrder } from '#lib/app/orders';
import { httpHandler } from '#lib/http/httpHandler';
import { noContent } from '#lib/http/responses';
import { validateIdPath } from '#lib/schemas/validators';

/** DELETE /orders/{id} */
export const handler = httpHandler({ path: validateIdPath }, async ({ path }) => {
  await deleteOrder(path.id);
  return noContent();
});
