import type { MiddlewareObj, Request } from '@middy/core';
import type { Context } from 'aws-lambda';

/** A middleware step as middy calls it: an answer (or undefined to go on), at once or as a promise. */
type Step<E, R> = (request: Request<E, R>) => unknown;

/**
 * Runs middy middlewares around `handler` exactly as a middy 7 chain of them runs them
 * (@middy/core's runRequest; tests/unit/middlewareChain.test.ts runs both over the same cases):
 * the `before` steps in the order given, then the handler, then the `after` steps last first; a
 * step that returns something other than undefined (or sets `request.earlyResponse`) answers
 * with it and the chain stops there (after a `before`, neither the handler nor any `after` runs).
 * An error from any of these goes to the `onError` steps, last first, which may answer; if none
 * does, the error goes on (an `onError` that throws another error passes that one on, with the
 * first as its cause).
 *
 * Why not middy's own runner: on every request it also creates an AbortController (for the early
 * timeout this API leaves off: lib/http/deadline.ts answers before the limit), a request object
 * with a null-prototype `internal`, two async frames and its plugin hooks. On a warm GET that was
 * about 4 microseconds of the API's overhead over a bare `findOne` (bench, issue #22). The
 * middlewares stay middy middlewares, typed by middy.
 */
export function middlewareChain<E, R>(
  middlewares: readonly MiddlewareObj<E, R>[],
  handler: (event: E, context: Context) => Promise<R>,
): (event: E, context: Context) => Promise<R> {
  const befores: Step<E, R>[] = [];
  const afters: Step<E, R>[] = [];
  const onErrors: Step<E, R>[] = [];
  for (const middleware of middlewares) {
    if (middleware.before) befores.push(middleware.before);
    if (middleware.after) afters.unshift(middleware.after);
    if (middleware.onError) onErrors.unshift(middleware.onError);
  }

  /** Runs `steps` in order until one answers; true when one did (its answer is then request.response). */
  async function answered(steps: Step<E, R>[], request: Request<E, R>): Promise<boolean> {
    for (const step of steps) {
      let result = step(request);
      if (result instanceof Promise) result = await result;
      if (result !== undefined) request.earlyResponse = result as R;
      if ('earlyResponse' in request) {
        request.response = request.earlyResponse;
        return true;
      }
    }
    return false;
  }

  return async (event, context) => {
    const request: Request<E, R> = { event, context, response: undefined, error: undefined, internal: {} };
    try {
      // The before steps are most often synchronous (authorize, validation): without a
      // promise among them, no await.
      for (let i = 0; i < befores.length; i++) {
        let result = (befores[i] as Step<E, R>)(request);
        if (result instanceof Promise) result = await result;
        if (result !== undefined) request.earlyResponse = result as R;
        if ('earlyResponse' in request) {
          request.response = request.earlyResponse;
          return request.response as R;
        }
      }
      request.response = await handler(request.event, request.context);
      if (afters.length > 0) await answered(afters, request);
    } catch (error) {
      request.response = undefined;
      delete request.earlyResponse;
      request.error = error as Error;
      try {
        await answered(onErrors, request);
      } catch (failure) {
        // As middy: an onError step's own error goes on, carrying the one it was handling.
        if (failure !== request.error && typeof failure === 'object' && failure !== null) {
          const carrier = failure as { originalError?: unknown; cause?: unknown };
          carrier.originalError = request.error;
          carrier.cause ??= request.error;
        }
        request.error = failure as Error;
        throw failure;
      }
      if (request.response === undefined) throw request.error;
    }
    return request.response as R;
  };
}
