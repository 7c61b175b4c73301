import type { ClientSession, Collection, Filter } from 'mongodb';
import { NotFoundError } from '#lib/domain/errors';
import { PreconditionFailedError, type VersionPrecondition } from '#lib/domain/versions';

/** The filter that matches document `id` only at a version an If-Match precondition allows. */
export function idAtVersion(
  id: string,
  precondition: VersionPrecondition | undefined,
): { _id: string; version?: { $in: number[] } } {
  return precondition === undefined || precondition === '*'
    ? { _id: id }
    : { _id: id, version: { $in: [...precondition] } };
}

/**
 * Explains a conditional write that matched nothing: the document is gone (NotFoundError) or
 * is at another version than If-Match allowed (PreconditionFailedError). Always throws. Inside
 * the write's transaction when `session` is given (the same snapshot as the write's).
 */
export async function throwMissingOrStale<D extends { _id: string; version: number }>(
  collection: Collection<D>,
  resource: 'order' | 'service',
  id: string,
  session?: ClientSession,
): Promise<never> {
  const current = await collection.findOne({ _id: id } as Filter<D>, {
    projection: { version: 1 },
    ...(session && { session }),
  });
  if (!current) throw new NotFoundError(resource, id);
  throw new PreconditionFailedError(resource, id, current.version);
}
