import { createOrder } from '#lib/app/orders';
import { httpHandler } from '#lib/http/httpHandler';
import { idempotency } from '#lib/http/middleware/idempotency';
import { relayAfterWrite } from '#lib/http/middleware/relayEvents';
import { created } from '#lib/http/responses';
import { validateOrderInput } from '#lib/schemas/bodyValidators';

/** POST /orders (honours Idempotency-Key) */
export const handler = httpHandler(
  'createOrder',
  { body: validateOrderInput },
  async ({ body }) => created(await createOrder(body), '/orders'),
  [idempotency('createOrder'), relayAfterWrite()],
);
