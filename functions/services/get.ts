import { getService } from '#lib/app/serviceRecords';
import { httpHandler } from '#lib/http/httpHandler';
import { ok } from '#lib/http/responses';
import { validateIdPath } from '#lib/schemas/validators';

/** GET /services/{id} */
export const handler = httpHandler({ path: validateIdPath }, async ({ path }) => ok(await getService(path.id)));
