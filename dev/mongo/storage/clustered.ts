/**
 * Clustered collections (MongoDB ≥ 5.3, `create` with `clusteredIndex: {key: {_id: 1}, unique: true}`):
 * documents are stored in `_id` order, so a collection scan (natural order) returns them by `_id`,
 * and the clustered index is the collection itself: there is no separate `_id_` index; listIndexes
 * shows the cluster key with `clustered: true` under its name (`_id_` unless named).
 *
 * Internally the `_id` index keeps its `_id_` entry (it enforces `_id` uniqueness and gives the
 * `_id` order); this module translates names at the edges (listIndexes, hints, dropIndexes).
 */
import { MongoCommandError } from '../bson/errors.ts';
import type { Collection, Doc } from './engine.ts';
import type { Index } from './indexes.ts';

const ID_INDEX = '_id_';

/** The `clusteredIndex` collection option as mongod stores and lists it. */
export interface ClusteredIndexOption {
  v: 2;
  key: { _id: 1 };
  name: string;
  unique: true;
}

/** The validated `clusteredIndex` option of a `create` command (undefined when absent), like mongod's checks. */
export function clusteredIndexOption(cmd: Doc): ClusteredIndexOption | undefined {
  const raw = cmd.clusteredIndex;
  if (raw === undefined) return undefined;
  if (typeof raw === 'boolean')
    throw new MongoCommandError(
      115,
      "the legacy 'clusteredIndex: <bool>' form (time series buckets) is not supported by the embedded MongoDB server",
    );
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new MongoCommandError(5979702, "'clusteredIndex' has to be a boolean or object.");
  const spec = raw as Doc;
  for (const field of Object.keys(spec)) {
    if (!['key', 'unique', 'name', 'v'].includes(field))
      throw new MongoCommandError(40415, `BSON field 'create.clusteredIndex.${field}' is an unknown field.`);
  }
  for (const field of ['key', 'unique'] as const) {
    if (spec[field] === undefined)
      throw new MongoCommandError(40414, `BSON field 'create.clusteredIndex.${field}' is missing but a required field`);
  }
  if (spec.unique !== true)
    throw new MongoCommandError(5979700, 'The clusteredIndex option requires unique: true to be specified');
  const key = spec.key;
  const onId = typeof key === 'object' && key !== null && Object.keys(key).length === 1 && (key as Doc)._id === 1;
  if (!onId) throw new MongoCommandError(197, 'The clusteredIndex option is only supported for key: {_id: 1}');
  if (spec.name !== undefined && (typeof spec.name !== 'string' || spec.name === ''))
    throw new MongoCommandError(
      14,
      "BSON field 'create.clusteredIndex.name' is the wrong type, expected type 'string'",
    );
  if (spec.v !== undefined && spec.v !== 2)
    throw new MongoCommandError(
      115,
      'clustered index versions other than 2 are not supported by the embedded MongoDB server',
    );
  // mongod's order of checks (clustered_util::checkCreationOptions).
  if (cmd.size !== undefined)
    throw new MongoCommandError(
      6049200,
      "'size' field for capped collections is not allowed on clustered collections. Did you mean 'capped: true' with 'expireAfterSeconds'?",
    );
  if (cmd.max !== undefined)
    throw new MongoCommandError(
      6049204,
      "'max' field for capped collections is not allowed on clustered collections. Did you mean 'capped: true' with 'expireAfterSeconds'?",
    );
  if (cmd.capped === true)
    throw new MongoCommandError(
      6127800,
      "Clustered capped collection only available with 'enableTestCommands' server parameter",
    );
  return { v: 2, key: { _id: 1 }, name: typeof spec.name === 'string' ? spec.name : ID_INDEX, unique: true };
}

/** The clustered index option of a collection, if it is clustered. */
export function clusteredIndexOf(coll: Collection): ClusteredIndexOption | undefined {
  const option = coll.options.clusteredIndex;
  return typeof option === 'object' && option !== null ? (option as ClusteredIndexOption) : undefined;
}

/** The index documents listIndexes shows: the cluster key (`clustered: true`) instead of an `_id_` index. */
export function listedIndexes(coll: Collection): Doc[] {
  const clustered = clusteredIndexOf(coll);
  return [...coll.indexes.values()].map((i) =>
    clustered && i.name === ID_INDEX ? { ...clustered, clustered: true } : (i.spec as Doc),
  );
}

/** The index a name refers to, as a client sees names (on a clustered collection, the cluster key's name). */
export function indexByName(coll: Collection, name: string): Index | undefined {
  const clustered = clusteredIndexOf(coll);
  if (clustered && (name === clustered.name || name === ID_INDEX))
    return name === clustered.name ? coll.indexes.get(ID_INDEX) : undefined;
  return coll.indexes.get(name);
}

/** Document ids in natural order: insertion order, or `_id` order on a clustered collection. */
export function naturalOrderIds(coll: Collection): Iterable<string> {
  if (!clusteredIndexOf(coll)) return coll.docs.keys();
  const index = coll.indexes.get(ID_INDEX) as Index;
  return (function* () {
    for (const e of index.entries.forward()) yield e.id;
  })();
}

/** Refuses index changes on the cluster key (not verified against mongod, so not imitated). */
export function rejectClusterKeyIndexChange(coll: Collection, key: Doc | undefined, name: string | undefined): void {
  const clustered = clusteredIndexOf(coll);
  if (!clustered) return;
  const onId = key !== undefined && Object.keys(key).length === 1 && key._id !== undefined;
  if (onId || name === clustered.name || name === ID_INDEX)
    throw new MongoCommandError(
      115,
      "changing the cluster key's index of a clustered collection is not supported by the embedded MongoDB server",
    );
}
