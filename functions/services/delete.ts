import { deleteService } from '#lib/app/serviceRecords';
import { httpHandler } from '#lib/http/httpHandler';
import { relayAfterWrite } from '#lib/http/middleware/relayEvents';
import { noContent } from '#lib/http/responses';
import { validateIdPath } from '#lib/schemas/parameterValidators';

/** DELETE /services/{id} (honours If-Match) */
export const handler = httpHandler(
  'deleteService',
  { path: validateIdPath },
  async ({ path, precondition }) => {
    await deleteService(path.id, precondition);
    return noContent();
  },
  [relayAfterWrite()],
);
