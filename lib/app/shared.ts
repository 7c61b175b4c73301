import { InvalidInputError } from '#lib/domain/errors';
import { type ClientChosenId, normalizeId } from '#lib/domain/ids';
import { encodePageCursor, type PagePosition } from '#lib/domain/pageCursor';

/** Items per page when the client does not say. */
export const DEFAULT_PAGE_SIZE = 20;

/** The page size a schema-valid `limit` (a decimal string from 1 to 100) asks for. */
export function pageSize(limit: string | undefined): number {
  return limit === undefined ? DEFAULT_PAGE_SIZE : Number(limit);
}

/** One page of a list and the token for the next, null on the last page. */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/** A PUT may repeat the id in its body, but only the one in its path. */
export function assertBodyIdMatchesPath(bodyId: ClientChosenId | undefined, pathId: string): void {
  if (bodyId !== undefined && normalizeId(bodyId) !== pathId) {
    throw new InvalidInputError(
      '/id',
      'body',
      `id in the body ('${normalizeId(bodyId)}') differs from the path ('${pathId}')`,
    );
  }
}

/**
 * A page from documents fetched with one more than `limit`: the extra one only tells that
 * another page exists (no count query), and `next` points after the last item returned.
 */
export function toPage<D, T>(
  documents: D[],
  limit: number,
  represent: (document: D) => T,
  positionOf: (document: D) => PagePosition,
): Page<T> {
  const items = documents.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map(represent),
    next: documents.length > limit && last !== undefined ? encodePageCursor(positionOf(last)) : null,
  };
}
