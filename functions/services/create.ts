import { createService } from '#lib/app/serviceRecords';
import { httpHandler } from '#lib/http/httpHandler';
import { created } from '#lib/http/responses';
import { validateServiceInput } from '#lib/schemas/validators';

/** POST /services */
export const handler = httpHandler('createService', { body: validateServiceInput }, async ({ body }) =>
  created(await createService(body), '/services'),
);
