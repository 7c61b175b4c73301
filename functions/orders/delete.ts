import { deleteOrder } from '#lib/app/orders';
import { httpHandler } from '#lib/http/httpHandler';
import { relayAfterWrite } from '#lib/http/middleware/relayEvents';
import { noContent } from '#lib/http/responses';
import { validateOrderIdPath } from '#lib/schemas/parameterValidators';

/** DELETE /orders/{id} (honours If-Match) */
export const handler = httpHandler(
  'deleteOrder',
  { path: validateOrderIdPath },
  async ({ path, precondition }) => {
    await deleteOrder(path.id, precondition);
    return noContent();
  },
  [relayAfterWrite()],
);
