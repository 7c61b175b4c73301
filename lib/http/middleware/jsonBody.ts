import type { MiddlewareObj } from '@middy/core';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { firstInexactNumber, STOP_SCAN, visitOutsideStrings } from '../jsonNumbers.ts';
import { type HttpProblem, PROBLEMS, problemOf } from '../problems.ts';

/** Largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 64 * 1024;

/** What middy's parser says for a `__proto__` or `constructor.prototype` key. */
const FORBIDDEN_KEY_MESSAGE = 'Forbidden key in JSON body';

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** Deepest nesting accepted; valid bodies need 3 levels, so this only stops abuse. */
export const MAX_NESTING_DEPTH = 32;

/**
 * True when JSON text nests arrays or objects deeper than `limit`. Reads the text, not the parsed
 * value, so it runs before the parser: a 100,000-level body would otherwise overflow the stack in
 * the parser's reviver (middy 7 parses with one) and could not be told apart from malformed JSON.
 * Brackets inside strings do not count; malformed text is left for the parser to refuse.
 */
export function nestingDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let exceeded = false;
  visitOutsideStrings(text, (code) => {
    if (code === 0x5b || code === 0x7b) {
      if (++depth > limit) {
        exceeded = true;
        return STOP_SCAN;
      }
    } else if (code === 0x5d || code === 0x7d) {
      depth--;
    }
    return undefined;
  });
  return exceeded;
}

function malformedJson(detail: string): HttpProblem {
  return problemOf(PROBLEMS.malformedJson, detail);
}

/**
 * Requires a JSON body of at most 64 KiB and parses it with middy's parser.
 * Wraps that parser because its answers differ from this API's: middy 7 reports malformed JSON
 * as 422, where this API answers 400, and the content type, presence, size and depth checks
 * come first so each failure gets its own status and detail.
 */
export function jsonBody(): MiddlewareObj<APIGatewayProxyEventV2> {
  const parser = httpJsonBodyParser({ disableContentTypeCheck: true });
  return {
    before: async (request) => {
      const { headers, body, isBase64Encoded } = request.event;
      const contentType = headers?.['content-type'] ?? '';
      if (!JSON_MEDIA_TYPE.test(contentType)) {
        throw problemOf(
          PROBLEMS.unsupportedMediaType,
          `Send the body as application/json (got '${contentType || 'no content type'}')`,
        );
      }
      // API Gateway leaves `body` out when there is none; serverless-offline sends null. A body
      // of only white space is no JSON value either.
      if (typeof body !== 'string' || body.trim() === '') throw malformedJson('A JSON body is required');
      const bytes = Buffer.byteLength(body, isBase64Encoded ? 'base64' : 'utf8');
      if (bytes > MAX_BODY_BYTES) {
        throw problemOf(PROBLEMS.contentTooLarge, `The body is ${bytes} bytes; the limit is ${MAX_BODY_BYTES}`);
      }
      const text = isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
      if (nestingDepthExceeds(text, MAX_NESTING_DEPTH)) {
        throw malformedJson(`The body is nested more than ${MAX_NESTING_DEPTH} levels deep`);
      }
      try {
        await parser.before?.(request as never);
      } catch (error) {
        // middy answers both malformed JSON and `__proto__` / `constructor.prototype` keys with
        // a 422; only the message tells them apart.
        const forbiddenKey = (error as Error).message === FORBIDDEN_KEY_MESSAGE;
        throw malformedJson(
          forbiddenKey ? 'The body has a forbidden key (__proto__ or constructor)' : 'The body is not valid JSON',
        );
      }
      const inexact = firstInexactNumber(text);
      if (inexact !== undefined) {
        throw problemOf(
          PROBLEMS.inexactNumber,
          `The number ${inexact.length > 40 ? `${inexact.slice(0, 40)}…` : inexact} has more digits than this API can store exactly (about 15 significant digits); send it with fewer`,
        );
      }
      // Valid JSON that is not an object (null, "x", 0, []) is left to the body validator,
      // which answers 400 with "must be object".
    },
  };
}
