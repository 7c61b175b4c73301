import { getOrder } from '#lib/app/orders';
import { httpHandler } from '#lib/http/httpHandler';
import { ok } from '#lib/http/responses';
import { validateIdPath } from '#lib/schemas/validators';

/** GET /orders/{id} */
export const handler = httpHandler({ path: validateIdPath }, async ({ path }) => ok(await getOrder(path.id)));
