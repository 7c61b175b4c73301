/**
 * The grammar of the request headers the API checks itself, as JSON Schema patterns (ECMA-262
 * regular expressions). The middleware tests headers with them and lib/schemas/headers.ts puts
 * the same strings in the OpenAPI document, so the document refuses what the server refuses.
 * No imports: runtime code and the schema builder both read this file.
 */

/**
 * One entity tag as `If-Match` may name it: optionally weak (`W/`), then quoted visible ASCII
 * other than `"` and `,` (RFC 9110 `etagc`, less the comma, which separates the list's tags; the
 * API's own tags are digits).
 */
const ENTITY_TAG = '(?:W/)?"[\\x21\\x23-\\x2B\\x2D-\\x7E]*"';

/** `If-Match`: `*`, or a comma-separated list of entity tags (RFC 9110 section 13.1.1), with optional white space. */
export const IF_MATCH_PATTERN = `^[ \\t]*(?:\\*|${ENTITY_TAG}(?:[ \\t]*,[ \\t]*${ENTITY_TAG})*)[ \\t]*$`;

/** Longest `Idempotency-Key` accepted. */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

/** `Idempotency-Key`: 1 to 255 visible ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = `^[\\x21-\\x7E]{1,${IDEMPOTENCY_KEY_MAX_LENGTH}}$`;
