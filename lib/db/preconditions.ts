import type { VersionPrecondition } from '#lib/domain/versions';

/** The filter that matches document `id` only at a version an If-Match precondition allows. */
export function idAtVersion(
  id: string,
  precondition: VersionPrecondition | undefined,
): { _id: string; version?: { $in: number[] } } {
  return precondition === undefined || precondition === '*'
    ? { _id: id }
    : { _id: id, version: { $in: [...precondition] } };
}
