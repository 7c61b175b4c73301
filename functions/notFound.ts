import { httpHandler } from '#lib/http/httpHandler';
import { HttpProblem } from '#lib/http/problems';

/** Catch-all route: any method and path no other route matches answers a JSON 404. */
export const handler = httpHandler(null, {}, async ({ event }) => {
  throw new HttpProblem(404, `No route for ${event.requestContext.http.method} ${event.rawPath}`);
});
