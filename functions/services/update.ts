import { replaceService } from '#lib/app/serviceRecords';
import { httpHandler } from '#lib/http/httpHandler';
import { relayAfterWrite } from '#lib/http/middleware/relayEvents';
import { okVersioned } from '#lib/http/responses';
import { validateServiceInput } from '#lib/schemas/bodyValidators';
import { validateIdPath } from '#lib/schemas/parameterValidators';

/** PUT /services/{id} (honours If-Match) */
export const handler = httpHandler(
  'updateService',
  { path: validateIdPath, body: validateServiceInput },
  async ({ path, body, precondition }) => okVersioned(await replaceService(path.id, body, precondition)),
  [relayAfterWrite()],
);
