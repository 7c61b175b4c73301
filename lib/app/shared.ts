import { InvalidInputError } from '#lib/domain/errors';
import { type ClientChosenId, normalizeId } from '#lib/domain/ids';

export type { Versioned } from '#lib/domain/versions';

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
