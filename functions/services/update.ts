import { replaceService } from '#lib/app/serviceRecords';
import { httpHandler } from '#lib/http/httpHandler';
import { ok } from '#lib/http/responses';
import { validateIdPath, validateServiceInput } from '#lib/schemas/validators';

/** PUT /services/{id} */
export const handler = httpHandler({ path: validateIdPath, body: validateServiceInput }, async ({ path, body }) =>
  ok(await replaceService(path.id, body)),
);
