import { httpHandler } from '#lib/http/httpHandler';
import { PROBLEMS, problemOf } from '#lib/http/problems';

/** Catch-all route: any method and path no other route matches answers a JSON 404. */
export const handler = httpHandler(null, {}, async ({ event }) => {
  throw problemOf(PROBLEMS.noSuchPath, `No route for ${event.requestContext.http.method} ${event.rawPath}`);
});
