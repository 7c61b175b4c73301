/**
 * Applying update documents: operator updates and pipelines through mingo, replacements by hand,
 * plus the parts mingo lacks — `$setOnInsert`, building the upsert seed document from the query,
 * type checks that mongod makes ($inc on a non-number) and the immutable `_id`.
 */

import { aggregate as mingoAggregate, update as mingoUpdate } from 'mingo';
import * as mingoUpdateOps from 'mingo/operators/update';
import { addBson, isBsonNumber, isExactNumber, mulBson } from '../bson/arith.ts';
import { cloneDoc, withIdFirst } from '../bson/documents.ts';
import { MongoCommandError } from '../bson/errors.ts';
import { type ComputeOptions, forCall, mingoDefaultContext, sharedOptions } from '../bson/mingo-options.ts';
import { keyString, bsonTypeName as typeName } from '../bson/order.ts';
import type { Doc } from '../storage/engine.ts';
import { validatePipeline } from './pipeline-validation.ts';
import { checkArrayUpdatePaths, validateOperatorUpdate } from './update-validation.ts';

const OPERATORS = new Set([
  '$set',
  '$unset',
  '$inc',
  '$mul',
  '$min',
  '$max',
  '$rename',
  '$push',
  '$pull',
  '$pullAll',
  '$addToSet',
  '$pop',
  '$currentDate',
  '$bit',
  '$setOnInsert',
]);

function isPlainObject(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/** Kind of update document: operators, a replacement, or an aggregation pipeline. */
export function updateKind(u: unknown): 'operators' | 'replacement' | 'pipeline' {
  if (Array.isArray(u)) return 'pipeline';
  if (!isPlainObject(u)) throw new MongoCommandError(14, "BSON field 'u' is the wrong type, expected type 'object'");
  const keys = Object.keys(u);
  if (keys.length > 0 && keys[0]?.startsWith('$')) {
    for (const k of keys) {
      if (!OPERATORS.has(k)) {
        throw new MongoCommandError(
          9,
          `Unknown modifier: ${k}. Expected a valid update modifier or pipeline-style update specified as an array`,
        );
      }
      const arg = u[k];
      if (!isPlainObject(arg))
        throw new MongoCommandError(
          9,
          `Modifiers operate on fields but we found type ${Array.isArray(arg) ? 'array' : typeof arg} instead. For example: {$mod: {<field>: ...}} not {${k}: ${String(arg)}}`,
        );
      // An empty operand ({ $set: {} }) is a no-op since MongoDB 5.0, not an error.
    }
    validateOperatorUpdate(u);
    return 'operators';
  }
  for (const k of keys) {
    if (k.startsWith('$'))
      throw new MongoCommandError(
        52,
        `The dollar ($) prefixed field '${k}' in '${k}' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith.`,
      );
  }
  return 'replacement';
}

function getPath(doc: Doc, path: string): unknown {
  let v: unknown = doc;
  for (const p of path.split('.')) {
    if (!isPlainObject(v)) return undefined;
    v = v[p];
  }
  return v;
}

/** Whether a dotted path goes through an array (getPath stops there). */
function crossesArray(doc: Doc, path: string): boolean {
  let v: unknown = doc;
  for (const p of path.split('.')) {
    if (Array.isArray(v)) return true;
    if (!isPlainObject(v)) return false;
    v = v[p];
  }
  return false;
}

/**
 * `$inc`/`$mul` where Int64 beyond 2^53 or Decimal128 takes part is computed here exactly (mingo
 * handles JS numbers only) and becomes a `$set` of the result; an Int64 overflow fails like mongod.
 */
function exactArithmetic(doc: Doc, u: Doc): void {
  for (const op of ['$inc', '$mul'] as const) {
    const spec = u[op];
    if (!isPlainObject(spec)) continue;
    for (const [path, by] of Object.entries(spec)) {
      const current = getPath(doc, path);
      if (!isExactNumber(by) && !isExactNumber(current)) continue;
      if (path.includes('$') || crossesArray(doc, path))
        throw new MongoCommandError(
          2,
          `${op} with Int64 or Decimal128 through an array path is not supported by the embedded server`,
        );
      // A missing field is set to the increment, or to zero of the multiplier's type.
      const result = op === '$inc' ? addBson(current ?? 0, by) : mulBson(current ?? 0, by);
      if (result === undefined) {
        throw new MongoCommandError(
          2,
          `Failed to apply ${op} operations to current value (${String(current)}) for document {_id: ${String(doc._id)}}`,
        );
      }
      delete spec[path];
      u.$set = { ...(isPlainObject(u.$set) ? u.$set : {}), [path]: result };
    }
    if (Object.keys(spec).length === 0) delete u[op];
  }
}

/** mongod refuses arithmetic on non-numbers; mingo silently skips it. */
function checkArithmetic(doc: Doc, u: Doc): void {
  for (const op of ['$inc', '$mul'] as const) {
    const spec = u[op];
    if (!isPlainObject(spec)) continue;
    for (const [path, by] of Object.entries(spec)) {
      if (!isBsonNumber(by)) {
        throw new MongoCommandError(
          14,
          `Cannot ${op === '$inc' ? 'increment' : 'multiply'} with non-numeric argument: {${path}: ${JSON.stringify(by)}}`,
        );
      }
      if (path.includes('$')) continue;
      const current = getPath(doc, path);
      if (current !== undefined && !isBsonNumber(current)) {
        throw new MongoCommandError(
          14,
          `Cannot apply ${op} to a value of non-numeric type. {_id: ${String(doc._id)}} has the field '${path.split('.').pop()}' of non-numeric type ${Array.isArray(current) ? 'array' : current === null ? 'null' : typeof current}`,
        );
      }
    }
  }
}

function shown(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? `[ ${v.map(shown).join(', ')} ]` : String(v);
}

/** Operators that create the path they name when it is missing. */
const CREATING = ['$set', '$inc', '$mul', '$min', '$max', '$push', '$addToSet', '$currentDate', '$bit'];

/**
 * mongod's path and type checks that mingo skips (it reports success and changes nothing): a
 * field cannot be created inside a scalar (28 PathNotViable), $push/$addToSet need an array (2),
 * $pop needs an array (14), $pull/$pullAll need an array (2).
 */
function checkPaths(doc: Doc, u: Doc): void {
  for (const [op, spec] of Object.entries(u)) {
    if (!isPlainObject(spec)) continue;
    for (const path of Object.keys(spec)) {
      if (path.includes('$')) continue; // positional paths are resolved by mingo against the query
      const parts = path.split('.');
      let cur: unknown = doc;
      let viable = true;
      for (let i = 0; i < parts.length - 1 && viable; i++) {
        const part = parts[i] as string;
        const next =
          Array.isArray(cur) && /^\d+$/.test(part) ? cur[Number(part)] : isPlainObject(cur) ? cur[part] : undefined;
        if (next === undefined) {
          viable = false; // missing from here on: mongod creates it
          break;
        }
        const child = parts[i + 1] as string;
        if (!isPlainObject(next) && !(Array.isArray(next) && /^\d+$/.test(child))) {
          if (CREATING.includes(op)) {
            throw new MongoCommandError(28, `Cannot create field '${child}' in element {${part}: ${shown(next)}}`);
          }
          viable = false;
          break;
        }
        cur = next;
      }
      if (!viable) continue;
      const last = parts[parts.length - 1] as string;
      const target =
        Array.isArray(cur) && /^\d+$/.test(last) ? cur[Number(last)] : isPlainObject(cur) ? cur[last] : undefined;
      if (target === undefined) continue;
      if (Array.isArray(target)) {
        if (op === '$bit')
          throw new MongoCommandError(
            2,
            `Cannot apply $bit to a value of non-integral type.{ _id: ${shown(doc._id)} } has the field ${last} of non-integer type array`,
          );
        continue;
      }
      if (op === '$push' || op === '$addToSet') {
        throw new MongoCommandError(
          2,
          `The field '${path}' must be an array but is of type ${typeName(target)} in document {_id: ${shown(doc._id)}}`,
        );
      }
      if (op === '$pop')
        throw new MongoCommandError(14, `Path '${path}' contains an element of non-array type '${typeName(target)}'`);
      if (op === '$pull' || op === '$pullAll')
        throw new MongoCommandError(2, 'Cannot apply $pull to a non-array value');
      if (op === '$bit' && !isIntegral(target))
        throw new MongoCommandError(
          2,
          `Cannot apply $bit to a value of non-integral type.{ _id: ${shown(doc._id)} } has the field ${last} of non-integer type ${typeName(target)}`,
        );
    }
  }
}

/** An integer as BSON stores it (Int32/Int64; documents are decoded with promoted values). */
function isIntegral(v: unknown): boolean {
  return (
    (typeof v === 'number' && Number.isInteger(v)) ||
    typeof v === 'bigint' ||
    (v as { _bsontype?: string })?._bsontype === 'Long'
  );
}

function setPath(doc: Doc, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur: Doc = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i] as string;
    if (!isPlainObject(cur[p])) cur[p] = {};
    cur = cur[p] as Doc;
  }
  cur[parts[parts.length - 1] as string] = value;
}

/** The document an upsert starts from: the query's equality conditions (mongod's "query seed"). */
export function upsertSeed(query: Doc, kind: 'operators' | 'replacement' | 'pipeline'): Doc {
  const seed: Doc = {};
  const visit = (q: Doc): void => {
    for (const [k, v] of Object.entries(q)) {
      if (k === '$and' && Array.isArray(v)) {
        for (const sub of v) if (isPlainObject(sub)) visit(sub);
        continue;
      }
      if (k.startsWith('$')) continue;
      if (isPlainObject(v) && Object.keys(v).some((x) => x.startsWith('$'))) {
        if ('$eq' in v) setPath(seed, k, v.$eq);
        continue;
      }
      setPath(seed, k, v);
    }
  };
  visit(query);
  if (kind !== 'operators') return '_id' in seed ? { _id: seed._id } : {};
  return seed;
}

/**
 * Returns the new version of `doc` after update `u` (a fresh object; `doc` is untouched).
 * For upserts pass the seed as `doc` and `isInsert` so $setOnInsert applies.
 */
export function applyUpdate(
  doc: Doc,
  u: unknown,
  opts: {
    arrayFilters?: Doc[] | undefined;
    query?: Doc | undefined;
    isInsert: boolean;
    variables?: Doc | undefined;
    /** What `updateKind(u)` returned for this same `u`, when the caller has it (it validates `u` again otherwise). */
    kind?: ReturnType<typeof updateKind> | undefined;
  },
): Doc {
  const kind = opts.kind ?? updateKind(u);
  const oldId = doc._id;
  let next: Doc;
  try {
    if (kind === 'replacement') {
      const repl = u as Doc;
      next = cloneDoc({ ...(oldId === undefined ? {} : { _id: oldId }), ...repl });
      if (oldId !== undefined && repl._id !== undefined && keyString(repl._id) !== keyString(oldId))
        throw immutableId(oldId);
    } else if (kind === 'pipeline') {
      next = applyPipeline(doc, u as Doc[], opts.variables);
    } else {
      const { $setOnInsert, ...given } = u as Doc;
      // Copy each operator's spec: guardId may edit it, and the command is reused for every matched doc.
      const rest: Doc = {};
      for (const [op, spec] of Object.entries(given)) rest[op] = isPlainObject(spec) ? { ...spec } : spec;
      if (opts.isInsert && isPlainObject($setOnInsert)) {
        rest.$set = { ...(isPlainObject(rest.$set) ? rest.$set : {}), ...$setOnInsert };
      }
      next = cloneDoc(doc);
      guardId(rest, oldId);
      checkArithmetic(next, rest);
      exactArithmetic(next, rest);
      checkPaths(next, rest);
      checkArrayUpdatePaths(next, rest);
      if (Object.keys(rest).length > 0) {
        if (!applyPlainOperators(next, rest, opts.arrayFilters)) {
          const positional = JSON.stringify(Object.values(rest).map((x) => Object.keys(x as Doc))).includes('.$');
          mingoUpdate(next, rest as never, opts.arrayFilters, positional ? opts.query : undefined);
        }
      }
    }
  } catch (err) {
    if (err instanceof MongoCommandError) throw err;
    throw new MongoCommandError(2, err instanceof Error ? err.message : String(err));
  }
  if (oldId !== undefined && (next._id === undefined || keyString(next._id) !== keyString(oldId)))
    throw immutableId(oldId);
  return withIdFirst(next);
}

type UpdateOperator = (expr: unknown, arrayFilters: Doc[], options: ComputeOptions) => (doc: Doc) => string[];

/**
 * What mingo's `update` runs an operator update with (its default operators, an empty collation,
 * `cloneMode: 'copy'`, no condition), made once: see bson/mingo-options.ts for why.
 */
const PLAIN_UPDATE_OPTIONS = sharedOptions({ context: mingoDefaultContext(), collation: {} as never }).update({
  condition: {},
  updateConfig: { cloneMode: 'copy' },
});

/**
 * Applies an operator update whose paths are plain (no positional `$`, `$[]`, `$[id]`), without
 * arrayFilters or `$rename`, the way mingo's `update` does (its operators, in the document's key
 * order, each built before any runs) but without copying mingo's whole operator context per call.
 * Returns false, having changed nothing, for any other update: mingo's `update` does those.
 *
 * What mingo's `update` adds on top is a check across operators (two paths in conflict, a
 * `$rename` target) that validateOperatorUpdate has already made, with mongod's error, before this
 * runs; each operator still checks its own paths.
 */
function applyPlainOperators(doc: Doc, ops: Doc, arrayFilters: Doc[] | undefined): boolean {
  if (arrayFilters && arrayFilters.length > 0) return false;
  const table = mingoUpdateOps as unknown as Record<string, UpdateOperator | undefined>;
  for (const [op, spec] of Object.entries(ops)) {
    if (op === '$rename' || table[op] === undefined || !isPlainObject(spec)) return false;
    for (const path of Object.keys(spec)) if (path.includes('$')) return false;
  }
  const options = forCall(PLAIN_UPDATE_OPTIONS);
  const apply = Object.entries(ops).map(([op, spec]) => (table[op] as UpdateOperator)(spec, [], options));
  for (const mutate of apply) mutate(doc);
  return true;
}

/** The stages mongod allows in a pipeline-style update. */
const PIPELINE_UPDATE_STAGES = new Set(['$addFields', '$set', '$project', '$unset', '$replaceRoot', '$replaceWith']);

/**
 * A pipeline-style update: the document through an aggregation pipeline (mingo), keeping the
 * original `_id` when the pipeline drops it, as mongod does.
 */
function applyPipeline(doc: Doc, pipeline: Doc[], variables: Doc | undefined): Doc {
  for (const stage of pipeline) {
    const op = isPlainObject(stage) ? Object.keys(stage)[0] : undefined;
    if (!op || !PIPELINE_UPDATE_STAGES.has(op)) {
      throw new MongoCommandError(72, `${op ?? 'A non-object stage'} is not allowed to be used within an update`);
    }
  }
  validatePipeline(pipeline);
  const [out] = mingoAggregate([cloneDoc(doc)], pipeline, variables ? { variables } : {}) as Doc[];
  if (!out) throw new MongoCommandError(2, 'the update pipeline produced no document');
  if (out._id === undefined && doc._id !== undefined) return { _id: doc._id, ...out };
  return out;
}

/** mongod refuses operators on `_id` (setting it to its current value is a no-op); mingo would try. */
function guardId(ops: Doc, oldId: unknown): void {
  for (const [op, spec] of Object.entries(ops)) {
    if (!isPlainObject(spec)) continue;
    for (const [path, value] of Object.entries(spec)) {
      if (op === '$rename' && typeof value === 'string' && (value === '_id' || value.startsWith('_id.')))
        throw immutableId(oldId);
      if (path !== '_id' && !path.startsWith('_id.')) continue;
      if (op === '$set' && path === '_id' && oldId !== undefined && keyString(spec[path]) === keyString(oldId)) {
        delete spec[path];
        if (Object.keys(spec).length === 0) delete ops[op];
        continue;
      }
      if (oldId === undefined && op === '$set') continue; // upsert seed without _id: $set may provide it
      throw immutableId(oldId);
    }
  }
}

function immutableId(_id: unknown): MongoCommandError {
  return new MongoCommandError(66, `Performing an update on the path '_id' would modify the immutable field '_id'`);
}
