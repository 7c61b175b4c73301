/**
 * Whole-document helpers that every layer writing documents shares: a type-keeping copy and
 * mongod's stored field order (`_id` first).
 */
import { deserialize, ObjectId, serialize } from 'bson';

type Doc = Record<string, unknown>;

/** A deep copy that keeps BSON types (ObjectId, Date, Binary…), made by a BSON round trip. */
export function cloneDoc(doc: Doc): Doc {
  return deserialize(serialize(doc)) as Doc;
}

/** Puts `_id` first (generating an ObjectId when absent), as mongod stores documents. */
export function withIdFirst(doc: Doc): Doc {
  if ('_id' in doc && Object.keys(doc)[0] === '_id') return doc;
  const { _id, ...rest } = doc;
  return { _id: _id === undefined ? new ObjectId() : _id, ...rest };
}
