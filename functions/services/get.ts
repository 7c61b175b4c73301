import { getService } from '#lib/app/serviceRecords';
import { httpHandler } from '#lib/http/httpHandler';
import { okVersioned } from '#lib/http/responses';
import { validateIdPath } from '#lib/schemas/parameterValidators';

/** GET /services/{id} */
export const handler = httpHandler('getService', { path: validateIdPath }, async ({ path }) =>
  okVersioned(await getService(path.id)),
);
