import { listServices } from '#lib/app/serviceRecords';
import { httpHandler } from '#lib/http/httpHandler';
import { ok } from '#lib/http/responses';
import { validateServiceListQuery } from '#lib/schemas/parameterValidators';

/** GET /services */
export const handler = httpHandler('listServices', { query: validateServiceListQuery }, async ({ query }) =>
  ok(await listServices(query)),
);
