/**
 * Collection statistics shared by the `collStats` command and the `$collStats` aggregation stage.
 * Sizes are estimates (BSON size of the latest versions): there is no disk format.
 */
import { calculateObjectSize } from 'bson';
import { MongoCommandError } from '../bson/errors.ts';
import { isCapped } from './capped.ts';
import type { Collection, Doc } from './engine.ts';

/** Number and total BSON size of a collection's live documents. */
export function collectionSizes(coll: Collection): { count: number; size: number } {
  let count = 0;
  let size = 0;
  for (const chain of coll.docs.values()) {
    const doc = chain[chain.length - 1]?.doc;
    if (!doc) continue;
    count++;
    size += calculateObjectSize(doc);
  }
  return { count, size };
}

/** The storage statistics of a collection, as collStats and `$collStats.storageStats` report them. */
export function storageStats(coll: Collection): Doc {
  const { count, size } = collectionSizes(coll);
  const stats: Doc = {
    count,
    size,
    avgObjSize: count ? size / count : 0,
    storageSize: size,
    nindexes: coll.indexes.size,
    indexSizes: Object.fromEntries([...coll.indexes.keys()].map((n) => [n, 0])),
    totalIndexSize: 0,
    totalSize: size,
    capped: isCapped(coll.options),
  };
  if (isCapped(coll.options)) {
    if (typeof coll.options.max === 'number') stats.max = coll.options.max;
    stats.maxSize = coll.options.size;
  }
  stats.scaleFactor = 1;
  return stats;
}

/**
 * The document a leading `{$collStats: {storageStats?, count?}}` stage produces. `latencyStats` and
 * `queryExecStats` (operation counters this server does not keep) are refused.
 */
export function collStatsDocument(coll: Collection | undefined, ns: string, spec: unknown, host: string): Doc {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec))
    throw new MongoCommandError(5447000, `$collStats must take a nested object but found: ${JSON.stringify(spec)}`);
  const out: Doc = { ns, host, localTime: new Date() };
  for (const [field, value] of Object.entries(spec)) {
    if (field === 'latencyStats' || field === 'queryExecStats')
      throw new MongoCommandError(115, `$collStats ${field} is not supported by the embedded MongoDB server`);
    if (field !== 'storageStats' && field !== 'count')
      throw new MongoCommandError(40415, `BSON field '$collStats.${field}' is an unknown field.`);
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new MongoCommandError(
        14,
        `BSON field '$collStats.${field}' is the wrong type '${typeof value}', expected type 'object'`,
      );
    if (!coll) {
      const what = field === 'count' ? 'record count' : 'storageStats';
      throw new MongoCommandError(
        26,
        `Unable to retrieve ${what} in $collStats stage :: caused by :: Collection [${ns}] not found.`,
      );
    }
    if (field === 'storageStats') out.storageStats = storageStats(coll);
    else out.count = collectionSizes(coll).count;
  }
  return out;
}
