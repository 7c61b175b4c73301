/**
 * Tailable cursors on capped collections (find with `tailable`, optionally `awaitData`): the cursor
 * stays open at the end of the collection and each getMore returns the matching documents inserted
 * since, in insertion order. As in mongod: the initial find must read in natural order; a cursor on
 * an empty collection is not kept; if the document the cursor was positioned on has been removed
 * (the collection wrapped past it), getMore fails with 136 CappedPositionLost.
 */
import type { Query } from 'mingo/query';
import { MongoCommandError } from '../bson/errors.ts';
import { type Collection, type Doc, type Engine, LATEST } from '../storage/engine.ts';

/** Where a tailable cursor stands: the newest document it has passed. */
interface Position {
  id: string;
  recordId: number;
}

/** The newest live document of a collection, or undefined when it is empty. */
function newest(coll: Collection): Position | undefined {
  let last: Position | undefined;
  for (const [id, recordId] of coll.recordIds) if (!last || recordId > last.recordId) last = { id, recordId };
  return last;
}

/** Refuses find options a tailable cursor cannot have (mongod: BadValue / FailedToParse). */
export function checkTailableFind(cmd: Doc, coll: Collection | undefined): void {
  const tailable = cmd.tailable === true;
  if (cmd.awaitData === true && !tailable)
    throw new MongoCommandError(9, "Cannot set 'awaitData' without also setting 'tailable'");
  if (!tailable) return;
  if (cmd.singleBatch === true)
    throw new MongoCommandError(2, "cannot use tailable option with the 'singleBatch' option");
  const sort = cmd.sort as Doc | undefined;
  if (sort && Object.keys(sort).length > 0 && !(Object.keys(sort).length === 1 && sort.$natural === 1))
    throw new MongoCommandError(2, 'cannot use tailable option with a sort other than {$natural: 1}');
  if (coll && coll.options.capped !== true)
    throw new MongoCommandError(
      2,
      `error processing query: ns=${coll.ns} planner returned error :: caused by :: tailable cursor requested on non capped collection`,
    );
}

/**
 * The source of a tailable cursor's later batches, or undefined when mongod would not keep the
 * cursor (no collection, or an empty one). `shape` applies the find's projection.
 */
export function tailableSource(
  engine: Engine,
  coll: Collection | undefined,
  query: Query,
  shape: (docs: Doc[]) => Doc[],
): (() => Doc[]) | undefined {
  if (!coll) return undefined;
  let position = newest(coll);
  if (!position) return undefined;
  return () => {
    if (engine.getCollection(coll.db, coll.name) !== coll)
      throw new MongoCommandError(175, `collection dropped. UUID ${coll.uuid.toString('hex')}`);
    const at = position as Position;
    if (coll.recordIds.get(at.id) !== at.recordId)
      throw new MongoCommandError(
        136,
        `CollectionScan died due to position in capped collection being deleted. Last seen record id: RecordId(${at.recordId})`,
      );
    const fresh: { recordId: number; doc: Doc }[] = [];
    for (const [id, recordId] of coll.recordIds) {
      if (recordId <= at.recordId) continue;
      const doc = engine.visible(coll, id, LATEST);
      if (!doc) continue;
      if (!position || recordId > position.recordId) position = { id, recordId };
      if (query.test(doc)) fresh.push({ recordId, doc });
    }
    fresh.sort((a, b) => a.recordId - b.recordId);
    return shape(fresh.map((f) => f.doc));
  };
}
