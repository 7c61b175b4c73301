import { ID_PATTERN } from './ids.ts';

const idPattern = new RegExp(ID_PATTERN);

/**
 * Opaque continuation tokens for keyset pagination. A token names the last item a page
 * returned (its sort key and id), so the next page starts strictly after it: inserts and
 * deletes elsewhere never shift items between pages the way skip/offset would.
 */

/** Where the previous page stopped: the last item's id and, for orders, its datetime in ms. */
export interface PagePosition {
  id: string;
  at?: number;
}

/** Encodes a position as a URL-safe token. */
export function encodePageCursor(position: PagePosition): string {
  return Buffer.from(JSON.stringify(position.at === undefined ? [position.id] : [position.id, position.at])).toString(
    'base64url',
  );
}

/** Decodes a token from `encodePageCursor`; undefined when it is not one (the caller answers 400). */
export function decodePageCursor(token: string): PagePosition | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length < 1 || value.length > 2) return undefined;
  const [id, at] = value as unknown[];
  if (typeof id !== 'string' || !idPattern.test(id)) return undefined;
  if (value.length === 1) return { id };
  if (typeof at !== 'number' || !Number.isSafeInteger(at) || Number.isNaN(new Date(at).getTime())) return undefined;
  return { id, at };
}
