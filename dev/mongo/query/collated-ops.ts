/**
 * What runs under a non-simple collation and what is refused. The filter comparisons (`$eq`, `$ne`,
 * `$gt`…, `$in`, `$nin`), sorts, `distinct` and collated indexes follow the collation; the parts
 * that compare through mingo's own (binary) equality — aggregation expressions (`$expr`, `$cond`…),
 * `$all`, array update operators, `$group` keys — would silently ignore it, so with a collation
 * they are refused (115), never run binarily.
 */
import { MongoCommandError } from '../bson/errors.ts';

type Doc = Record<string, unknown>;

function refused(what: string): MongoCommandError {
  return new MongoCommandError(
    115,
    `${what} with a collation other than simple is not supported by the embedded MongoDB server`,
  );
}

function isPlain(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/** Filter operators that compare with mingo's own equality, not the collation. */
const UNCOLLATED_FILTER_OPS = new Set(['$expr', '$all']);

/** Refuses a filter using operators that would ignore the collation. */
export function refuseUncollatedFilter(filter: unknown): void {
  if (Array.isArray(filter)) {
    for (const x of filter) refuseUncollatedFilter(x);
    return;
  }
  if (!isPlain(filter)) return;
  for (const [k, v] of Object.entries(filter)) {
    if (UNCOLLATED_FILTER_OPS.has(k)) throw refused(k);
    refuseUncollatedFilter(v);
  }
}

/** Update operators whose element comparisons would ignore the collation. */
const UNCOLLATED_UPDATE_OPS = new Set(['$pull', '$pullAll', '$addToSet', '$min', '$max']);

/** Refuses an update (operators, replacement or pipeline) that would compare strings ignoring the collation. */
export function refuseUncollatedUpdate(u: unknown, arrayFilters: unknown): void {
  if (arrayFilters !== undefined) throw refused('arrayFilters');
  if (Array.isArray(u)) throw refused('a pipeline update');
  if (!isPlain(u)) return;
  for (const [k, fields] of Object.entries(u)) {
    if (UNCOLLATED_UPDATE_OPS.has(k)) throw refused(`update operator ${k}`);
    if (!isPlain(fields)) continue;
    for (const [path, v] of Object.entries(fields)) {
      // The positional `$` finds its element by matching the query; `$push` `$sort` orders strings.
      if (/\.\$(\.|$)/.test(path)) throw refused('a positional ($) update');
      if (k === '$push' && isPlain(v) && '$sort' in v) throw refused('$push with $sort');
    }
  }
}

/** Refuses projections that match array elements (`$elemMatch`, positional `.$`) under a collation. */
export function refuseUncollatedProjection(projection: unknown): void {
  if (!isPlain(projection)) return;
  for (const [k, v] of Object.entries(projection)) {
    if (k.endsWith('.$')) throw refused('a positional projection');
    if (isPlain(v) && '$elemMatch' in v) throw refused('an $elemMatch projection');
  }
}

/** An expression that involves no comparison: a literal number/bool/null or a `$field` path. */
function plainOperand(v: unknown): boolean {
  return (
    v === null ||
    typeof v === 'number' ||
    typeof v === 'boolean' ||
    (typeof v === 'string' && v.startsWith('$') && !v.startsWith('$$'))
  );
}

const COLLATION_FREE_ACCUMULATORS = new Set(['$sum', '$avg', '$first', '$last', '$push', '$count']);

/**
 * Refuses pipeline stages that would ignore the collation. Allowed: `$match` (collation-aware
 * filters), `$sort`, `$skip`, `$limit`, `$count`, inclusion/exclusion `$project`/`$unset`, and a
 * `$group` with a constant `_id` whose accumulators take a field or a number (what
 * `countDocuments` sends).
 */
export function refuseUncollatedPipeline(stages: Doc[]): void {
  for (const stage of stages) {
    const op = Object.keys(stage)[0] ?? '';
    const arg = stage[op];
    switch (op) {
      case '$match':
        refuseUncollatedFilter(arg);
        continue;
      case '$sort':
      case '$skip':
      case '$limit':
      case '$count':
      case '$unset':
        continue;
      case '$project':
        if (isPlain(arg) && Object.values(arg).every((v) => v === 0 || v === 1 || typeof v === 'boolean')) continue;
        throw refused('a $project with expressions');
      case '$group': {
        if (!isPlain(arg)) break;
        const { _id, ...accumulators } = arg;
        const idOk = _id === null || typeof _id === 'number' || typeof _id === 'boolean';
        const accOk = Object.values(accumulators).every((acc) => {
          if (!isPlain(acc) || Object.keys(acc).length !== 1) return false;
          const [name, operand] = Object.entries(acc)[0] as [string, unknown];
          return COLLATION_FREE_ACCUMULATORS.has(name) && (name === '$count' || plainOperand(operand));
        });
        if (idOk && accOk) continue;
        throw refused('a $group with a non-constant _id or comparing accumulators');
      }
    }
    throw refused(`the ${op} stage`);
  }
}
