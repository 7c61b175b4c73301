import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { correlationIdFor } from '../correlation.ts';
import { problemFor } from '../errorMapping.ts';
import { PROBLEMS, problemResponse } from '../problems.ts';
import { logger } from '../requestLog.ts';

/**
 * Turns every error into an `application/problem+json` response. Known errors keep their
 * status and detail; anything else is a 500 that shows only a correlation id (see
 * correlationIdFor), while the stack goes to the log under that id.
 */
export function problemErrors(): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  return {
    onError: (request) => {
      const known = problemFor(request.error);
      if (known) {
        request.response = problemResponse(known.problem, known.headers);
        return;
      }
      const correlationId = correlationIdFor(request.event, request.context);
      const error = request.error;
      logger.error('unhandled error', {
        correlationId,
        route: request.event.routeKey,
        error: error instanceof Error ? error : String(error),
      });
      request.response = problemResponse({
        ...PROBLEMS.internalError,
        detail: `Something went wrong on our side; quote correlation id ${correlationId} when reporting it`,
        correlationId,
      });
    },
  };
}
