import { createService } from '#lib/app/serviceRecords';
import { httpHandler } from '#lib/http/httpHandler';
import { idempotency } from '#lib/http/middleware/idempotency';
import { relayAfterWrite } from '#lib/http/middleware/relayEvents';
import { created } from '#lib/http/responses';
import { validateServiceInput } from '#lib/schemas/bodyValidators';

/** POST /services (honours Idempotency-Key) */
export const handler = httpHandler(
  'createService',
  { body: validateServiceInput },
  async ({ body }) => created(await createService(body), '/services'),
  [idempotency('createService'), relayAfterWrite()],
);
