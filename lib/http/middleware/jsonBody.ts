import type { MiddlewareObj } from '@middy/core';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { HttpProblem } from '../problems.ts';

/** Largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 64 * 1024;

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** Deepest nesting accepted; valid bodies need 3 levels, so this only stops abuse. */
export const MAX_NESTING_DEPTH = 32;

/**
 * True when a parsed JSON value nests arrays or objects deeper than `limit`. Iterative, so a
 * 60,000-level body cannot overflow the stack here or reach code that recurses.
 */
export function nestingDepthExceeds(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop() as [unknown, number];
    if (current === null || typeof current !== 'object') continue;
    if (depth >= limit) return true;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return false;
}

function malformedJson(detail: string): HttpProblem {
  return new HttpProblem(400, detail, { type: '/problems/malformed-json', title: 'Malformed JSON' });
}

/**
 * Requires a JSON body of at most 64 KiB and parses it with middy's parser.
 * Wraps that parser because its answers differ from this API's: it reports malformed JSON
 * as 415 (middy 6) or 422 (middy 7), where this API answers 400, and the content type and
 * size checks come first so each failure gets its own status.
 */
export function jsonBody(): MiddlewareObj<APIGatewayProxyEventV2> {
  // disableContentTypeCheck exists in middy 6's parser but not in its typings.
  const parser = httpJsonBodyParser({ disableContentTypeCheck: true } as Parameters<typeof httpJsonBodyParser>[0]);
  return {
    before: async (request) => {
      const { headers, body, isBase64Encoded } = request.event;
      const contentType = headers?.['content-type'] ?? '';
      if (!JSON_MEDIA_TYPE.test(contentType)) {
        throw new HttpProblem(415, `Send the body as application/json (got '${contentType || 'no content type'}')`);
      }
      if (body === undefined || body === '') throw malformedJson('A JSON body is required');
      const bytes = Buffer.byteLength(body, isBase64Encoded ? 'base64' : 'utf8');
      if (bytes > MAX_BODY_BYTES) {
        throw new HttpProblem(413, `The body is ${bytes} bytes; the limit is ${MAX_BODY_BYTES}`);
      }
      try {
        await parser.before?.(request as never);
      } catch {
        throw malformedJson('The body is not valid JSON');
      }
      if (nestingDepthExceeds(request.event.body, MAX_NESTING_DEPTH)) {
        throw malformedJson(`The body is nested more than ${MAX_NESTING_DEPTH} levels deep`);
      }
    },
  };
}
