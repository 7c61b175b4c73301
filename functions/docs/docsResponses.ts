/**
 * Responses of the documentation functions. They are plain Lambda handlers rather than
 * httpHandler ones: public, no body to validate, no database, and kept out of the API
 * functions' middleware and bundles.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { PROBLEMS, problemResponse } from '#lib/http/problems';
import { COMMON_HEADERS } from '#lib/http/responses';

/** The headers of a documentation response: its type and caching, and never sniffed. */
export function docsHeaders(contentType: string, cacheControl: string): Record<string, string> {
  return { 'content-type': contentType, ...COMMON_HEADERS, 'cache-control': cacheControl };
}

/** A problem+json 404 for a name the page does not have. */
export function docsNotFound(detail: string): APIGatewayProxyStructuredResultV2 {
  return problemResponse({ ...PROBLEMS.noSuchPath, detail });
}

/** Logs an unexpected error and answers an opaque problem+json 500, as the API functions do. */
export function docsInternalError(error: unknown, requestId: string): APIGatewayProxyStructuredResultV2 {
  console.error(
    JSON.stringify({
      level: 'ERROR',
      message: 'unhandled error in the docs function',
      correlationId: requestId,
      error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
    }),
  );
  return problemResponse({
    ...PROBLEMS.internalError,
    detail: `Something went wrong on our side; quote correlation id ${requestId} when reporting it`,
    correlationId: requestId,
  });
}
