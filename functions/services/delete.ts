import { deleteService } from '#lib/app/serviceRecords';
import { httpHandler } from '#lib/http/httpHandler';
import { noContent } from '#lib/http/responses';
import { validateIdPath } from '#lib/schemas/validators';

/** DELETE /services/{id} */
export const handler = httpHandler({ path: validateIdPath }, async ({ path }) => {
  await deleteService(path.id);
  return noContent();
});
