/**
 * JSON numbers read exactly or not at all. JSON.parse turns every number into the nearest IEEE
 * double, silently: 1.0000000000000001 becomes 1, 9007199254740993 becomes 9007199254740992,
 * 1e999 becomes Infinity. RFC 8259 §6 leaves numbers beyond double precision to the
 * implementation; this API refuses them (400) instead of storing a value the client did not send.
 */

const NUMBER_LITERAL = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * A decimal's value as `digits e exponent` with no leading or trailing zeros, so two spellings
 * of one value (`120.50`, `1.205e2`, `120.5`) give the same key; undefined for a non-number.
 */
function decimalKey(literal: string): string | undefined {
  const match = NUMBER_LITERAL.exec(literal);
  if (!match) return undefined;
  const [, sign, whole = '', fraction = '', exponent = '0'] = match;
  let digits = (whole + fraction).replace(/^0+/, '');
  if (digits === '') return '0';
  let scale = Number(exponent) - fraction.length;
  const trimmed = digits.replace(/0+$/, '');
  scale += digits.length - trimmed.length;
  digits = trimmed;
  return `${sign}${digits}e${scale}`;
}

/** True when the number literal reads as a double whose shortest decimal has the same value. */
export function isExactNumberLiteral(literal: string): boolean {
  const key = decimalKey(literal);
  return key !== undefined && key === decimalKey(String(Number(literal)));
}

/** Returned by a visitOutsideStrings visitor to stop the scan. */
export const STOP_SCAN = -1;

/**
 * Calls `visit` with each character code of JSON text that is not inside a string, with its
 * index. `visit` may return the index of the last character it consumed (to skip ahead) or
 * STOP_SCAN. Backslash escapes in strings are honoured; malformed text is scanned as is.
 */
export function visitOutsideStrings(text: string, visit: (code: number, index: number) => number | undefined): void {
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c)
        i++; // backslash: the next character is escaped
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) {
      inString = true;
    } else {
      const next = visit(code, i);
      if (next === STOP_SCAN) return;
      if (next !== undefined) i = next;
    }
  }
}

/**
 * The first number in JSON text that a double cannot hold exactly, or undefined when all can.
 * Expects text that JSON.parse accepted.
 */
export function firstInexactNumber(text: string): string | undefined {
  let inexact: string | undefined;
  visitOutsideStrings(text, (code, start) => {
    if (code !== 0x2d && (code < 0x30 || code > 0x39)) return undefined;
    let end = start + 1;
    while (end < text.length && /[-+.\deE]/.test(text.charAt(end))) end++;
    const literal = text.slice(start, end);
    if (isExactNumberLiteral(literal)) return end - 1;
    inexact = literal;
    return STOP_SCAN;
  });
  return inexact;
}
