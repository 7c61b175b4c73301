import { Type } from '@sinclair/typebox';
import { IDEMPOTENCY_KEY_MAX_LENGTH, IDEMPOTENCY_KEY_PATTERN, IF_MATCH_PATTERN } from '#lib/http/headerPatterns';

/**
 * `If-Match` on PUT and DELETE. The pattern is the one lib/http/ifMatch.ts tests the header with
 * (a 400 when it fails), so the document accepts exactly the values the server does.
 */
export const IfMatchHeader = Type.String({
  pattern: IF_MATCH_PATTERN,
  description: '`*`, or one or more entity tags separated by commas, e.g. `"3"` or `"3", "4"`',
  examples: ['"3"'],
});

/** `Idempotency-Key` on POST: the pattern lib/http/middleware/idempotency.ts tests it with. */
export const IdempotencyKeyHeader = Type.String({
  minLength: 1,
  maxLength: IDEMPOTENCY_KEY_MAX_LENGTH,
  pattern: IDEMPOTENCY_KEY_PATTERN,
  examples: ['a1b2c3d4'],
});
