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
 * Explains a write by id that matched nothing: the document is gone (NotFoundError) or is at
 * another version than If-Match allowed (PreconditionFailedError). Always throws.
 *
 * Without a version list (no If-Match, or `*`) the write matched nothing because the document did
 * not exist when it ran: that is a 404 with no read, for a read now could find a document another
 * request created since, and answer 412 to a request that set no precondition. With versions, a
 * read tells the two apart; a document that appeared since answers 412, which is true of the
 * moment the write ran either way (If-Match is false on a missing resource: RFC 9110, 13.1.1).
 * With `session` the read is inside the write's transaction, so it sees the write's snapshot: a
 * document created since is not there, and the answer is the 404 of that moment.
 */
export async function throwMissingOrStale<D extends { _id: string; version: number }>(
  collection: Collection<D>,
  resource: 'order' | 'service',
  id: string,
  precondition: VersionPrecondition | undefined,
  session?: ClientSession,
): Promise<never> {
  if (precondition === undefined || precondition === '*') throw new NotFoundError(resource, id);
  const current = await collection.findOne({ _id: id } as Filter<D>, {
    projection: { version: 1 },
    ...(session && { session }),
  });
  if (!current) throw new NotFoundError(resource, id);
  throw new PreconditionFailedError(resource, id, current.version);
}
