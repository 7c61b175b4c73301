import { orderAvailability } from '#lib/app/orders';
import { httpHandler } from '#lib/http/httpHandler';
import { ok } from '#lib/http/responses';
import { validateAvailabilityQuery } from '#lib/schemas/parameterValidators';

/** GET /orders/availability */
export const handler = httpHandler('getOrderAvailability', { query: validateAvailabilityQuery }, async ({ query }) =>
  ok(await orderAvailability(query)),
);
