/**
 * An aggregation pipeline checked the way mongod parses it, before anything runs: every stage's
 * shape and arguments with mongod 7.0's codes (`{$limit: 0}` 15958, `{$unwind: 'a'}` 28818,
 * `{$project: {}}` 51272, `$group` without `_id` 15955, an unknown stage 40324…), the filters of
 * `$match`, the sub-pipelines of `$facet`/`$lookup`/`$unionWith`, and the expressions: an unknown
 * one is 168, one mongod has and this server does not run (`$function`, `$accumulator`,
 * `$toObjectId`…) is 115. mingo accepts many of these and returns something instead.
 */
import { Decimal128, Long } from 'bson';
import * as accumulatorOps from 'mingo/operators/accumulator';
import * as windowOps from 'mingo/operators/window';
import { MongoCommandError } from '../bson/errors.ts';
import { checkExpression, NOT_IN_MONGOD_7 } from '../bson/expression-validation.ts';
import { validateFilter } from '../bson/filter-validation.ts';
import { bsonTypeName, typeClass } from '../bson/order.ts';

type Doc = Record<string, unknown>;

const ErrorCodeTypeMismatch = 14;
const ErrorCodeFailedToParse = 9;

/** Stages this server runs (mingo's, and those the aggregate command answers itself). */
const RUN_STAGES = new Set([
  '$addFields',
  '$bucket',
  '$bucketAuto',
  '$collStats',
  '$count',
  '$currentOp',
  '$densify',
  '$documents',
  '$facet',
  '$fill',
  '$graphLookup',
  '$group',
  '$limit',
  '$listLocalSessions',
  '$lookup',
  '$match',
  '$merge',
  '$out',
  '$project',
  '$redact',
  '$replaceRoot',
  '$replaceWith',
  '$sample',
  '$set',
  '$setWindowFields',
  '$skip',
  '$sort',
  '$sortByCount',
  '$unionWith',
  '$unset',
  '$unwind',
  '$changeStream',
]);

/** Stages MongoDB 7.0 has that this server does not run: refused by name (115). */
const UNSUPPORTED_STAGES = new Set([
  '$geoNear',
  '$search',
  '$searchMeta',
  '$vectorSearch',
  '$listSearchIndexes',
  '$indexStats',
  '$planCacheStats',
  '$listSessions',
  '$listCatalog',
  '$shardedDataDistribution',
  '$changeStreamSplitLargeEvent',
  '$queryStats',
]);

const KNOWN_ACCUMULATORS = new Set(Object.keys(accumulatorOps));
const KNOWN_WINDOW_FUNCTIONS = new Set([...Object.keys(windowOps), ...Object.keys(accumulatorOps)]);

function isPlainDoc(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeClass(v) === 20;
}

function isNumber(v: unknown): boolean {
  return typeof v === 'number' || typeof v === 'bigint' || v instanceof Long || v instanceof Decimal128;
}

function fail(code: number, message: string): MongoCommandError {
  return new MongoCommandError(code, message);
}

function unsupported(what: string): MongoCommandError {
  return new MongoCommandError(115, `${what} is not supported by the embedded MongoDB server`);
}

/** mongod's FieldPath rules for a field name written in a stage (`$project`, `$addFields`…). */
function checkFieldPath(path: string, context: string): void {
  if (path === '') throw fail(40352, `${context}FieldPath cannot be constructed with empty string`);
  for (const part of path.split('.')) {
    if (part === '') throw fail(40353, `${context}FieldPath must not end with a '.'.`);
    if (part.startsWith('$'))
      throw fail(
        16410,
        `${context}FieldPath field names may not start with '$'. Consider using $getField or $setField.`,
      );
  }
}

/** Checks a `$group`/`$bucket` accumulator field: `{name: {$op: expr}}`. */
function checkAccumulatorField(field: string, spec: unknown): void {
  if (!isPlainDoc(spec)) throw fail(40234, `The field '${field}' must be an accumulator object`);
  const ops = Object.keys(spec);
  if (ops.length !== 1) throw fail(40238, `The field '${field}' must specify one accumulator`);
  const op = ops[0] as string;
  if (op === '$accumulator') throw unsupported('server-side JavaScript ($accumulator)');
  if (!KNOWN_ACCUMULATORS.has(op)) throw fail(15952, `unknown group operator '${op}'`);
  checkExpression(spec[op]);
}

/**
 * mongod's projection rules (find and `$project`): at least one field, no mix of inclusion and
 * exclusion (31253/31254; `_id` may be excluded from an inclusion), valid field paths.
 */
export function checkProjection(spec: Doc, stage: boolean): void {
  const prefix = stage ? 'Invalid $project :: caused by :: ' : '';
  if (Object.keys(spec).length === 0) {
    if (stage) throw fail(51272, `${prefix}projection specification must have at least one field`);
    return;
  }
  let mode: 'inclusion' | 'exclusion' | undefined;
  const walk = (obj: Doc, base: string): void => {
    for (const [key, value] of Object.entries(obj)) {
      const path = base ? `${base}.${key}` : key;
      const positional = !stage && key.endsWith('.$');
      checkFieldPath(positional ? key.slice(0, -2) : key, prefix);
      let kind: 'inclusion' | 'exclusion' | 'other';
      if (typeof value === 'boolean' || isNumber(value)) {
        kind = value === false || Number(String(value)) === 0 ? 'exclusion' : 'inclusion';
      } else if (isPlainDoc(value) && Object.keys(value).length > 0 && !Object.keys(value)[0]?.startsWith('$')) {
        walk(value, path);
        continue;
      } else if (isPlainDoc(value) && Object.keys(value).length === 0) {
        throw fail(51270, `${prefix}An empty sub-projection is not a valid value. Found empty object at path`);
      } else {
        // A computed field ($slice/$elemMatch in find, an expression or literal): inclusion style.
        if (isPlainDoc(value)) {
          const op = Object.keys(value)[0] as string;
          // find's $slice and $elemMatch go with either style (mongod decides the style without them)
          if (!stage && (op === '$slice' || op === '$elemMatch')) continue;
          checkExpression(value);
        }
        kind = 'other';
      }
      if (path === '_id' && kind === 'exclusion') continue;
      const style = kind === 'exclusion' ? 'exclusion' : 'inclusion';
      if (mode === undefined) mode = style;
      else if (mode !== style) {
        throw style === 'exclusion'
          ? fail(31254, `${prefix}Cannot do exclusion on field ${path} in inclusion projection`)
          : fail(31253, `${prefix}Cannot do inclusion on field ${path} in exclusion projection`);
      }
    }
  };
  walk(spec, '');
}

/**
 * A find or findAndModify `sort`, parsed like mongod's sort pattern before anything is read (so
 * also on a missing collection): 15974 for a non-number, 15975 for a number other than 1/-1.
 */
export function checkFindSort(sort: Doc | undefined): void {
  if (sort === undefined || Object.keys(sort).length === 0) return;
  checkSortSpec(sort, true);
}

function checkLimit(arg: unknown): void {
  if (!isNumber(arg)) throw fail(15957, 'the limit must be specified as a number');
  const n = Number(String(arg));
  if (!Number.isInteger(n))
    throw fail(5107201, `invalid argument to $limit stage: Expected an integer: $limit: ${String(arg)}`);
  if (n < 0) throw fail(5107201, `invalid argument to $limit stage: Expected a positive number in: $limit: ${n}`);
  if (n === 0) throw fail(15958, 'the limit must be positive');
}

function checkSkip(arg: unknown): void {
  if (!isNumber(arg)) throw fail(15972, 'Argument to $skip must be a number');
  const n = Number(String(arg));
  if (!Number.isInteger(n))
    throw fail(5107200, `invalid argument to $skip stage: Expected an integer: $skip: ${String(arg)}`);
  if (n < 0) throw fail(5107200, `invalid argument to $skip stage: Expected a positive number in: $skip: ${n}`);
}

function checkUnwindPath(path: unknown): void {
  if (typeof path !== 'string')
    throw fail(28808, `expected a string as the path for $unwind stage, got ${bsonTypeName(path)}`);
  if (!path.startsWith('$')) throw fail(28818, `path option to $unwind stage should be prefixed with a '$': ${path}`);
  checkFieldPath(path.slice(1), '');
}

function checkUnwind(arg: unknown): void {
  if (typeof arg === 'string') {
    checkUnwindPath(arg);
    return;
  }
  if (!isPlainDoc(arg))
    throw fail(
      15981,
      `expected either a string or an object as specification for $unwind stage, got ${bsonTypeName(arg)}`,
    );
  for (const [k, v] of Object.entries(arg)) {
    if (k === 'path') checkUnwindPath(v);
    else if (k === 'preserveNullAndEmptyArrays') {
      if (typeof v !== 'boolean')
        throw fail(
          28809,
          `expected a boolean for the preserveNullAndEmptyArrays option to $unwind stage, got ${bsonTypeName(v)}`,
        );
    } else if (k === 'includeArrayIndex') {
      if (typeof v !== 'string')
        throw fail(
          28810,
          `expected a non-empty string for the includeArrayIndex option to $unwind stage, got ${bsonTypeName(v)}`,
        );
      if (v === '')
        throw fail(28810, 'expected a non-empty string for the includeArrayIndex option to $unwind stage, got string');
      if (v.startsWith('$'))
        throw fail(28822, `includeArrayIndex option to $unwind stage should not be prefixed with a '$': ${v}`);
    } else throw fail(28811, `unrecognized option to $unwind stage: ${k}`);
  }
  if (!('path' in arg)) throw fail(28812, 'no path specified to $unwind stage');
}

function checkGroup(arg: unknown): void {
  if (!isPlainDoc(arg)) throw fail(15947, "a group's fields must be specified in an object");
  if (!('_id' in arg)) throw fail(15955, 'a group specification must include an _id');
  for (const [field, spec] of Object.entries(arg)) {
    if (field === '_id') {
      checkExpression(spec);
      continue;
    }
    if (field.startsWith('$')) throw fail(40236, `The field name '${field}' cannot be an operator name`);
    if (field.includes('.')) throw fail(40235, `The field name '${field}' cannot contain '.'`);
    checkAccumulatorField(field, spec);
  }
}

function checkSortSpec(arg: unknown, find = false): void {
  if (!isPlainDoc(arg)) throw fail(15973, 'the $sort key specification must be an object');
  if (Object.keys(arg).length === 0) throw fail(15976, '$sort stage must have at least one sort key');
  for (const [path, dir] of Object.entries(arg)) {
    if (find && path === '$natural') continue; // find's natural order, checked by the planner
    checkFieldPath(path, '');
    if (isPlainDoc(dir)) {
      if ('$meta' in dir) throw unsupported('a $meta sort');
      throw fail(17312, `$meta is the only expression supported by $sort right now`);
    }
    if (!isNumber(dir)) throw fail(15974, `Illegal key in $sort specification: ${path}: ${JSON.stringify(dir)}`);
    const n = Number(String(dir));
    if (n !== 1 && n !== -1) throw fail(15975, '$sort key ordering must be 1 (for ascending) or -1 (for descending)');
  }
}

function checkCount(arg: unknown): void {
  if (typeof arg !== 'string' || arg === '') throw fail(40156, 'the count field must be a non-empty string');
  if (arg.startsWith('$')) throw fail(40158, 'the count field cannot be a $-prefixed path');
  if (arg.includes('\0')) throw fail(40159, 'the count field cannot contain a null byte');
  if (arg.includes('.')) throw fail(40160, "the count field cannot contain '.'");
}

function checkAddFields(op: string, arg: unknown): void {
  if (!isPlainDoc(arg)) throw fail(40272, `${op} specification stage must be an object, got ${bsonTypeName(arg)}`);
  const walk = (obj: Doc, base: string): void => {
    for (const [key, value] of Object.entries(obj)) {
      checkFieldPath(key, `Invalid ${op} :: caused by :: `);
      if (isPlainDoc(value) && Object.keys(value).length > 0 && !Object.keys(value)[0]?.startsWith('$'))
        walk(value, base ? `${base}.${key}` : key);
      else checkExpression(value);
    }
  };
  walk(arg, '');
}

function checkUnset(arg: unknown): void {
  const fields = typeof arg === 'string' ? [arg] : arg;
  if (!Array.isArray(fields) || fields.length === 0)
    throw fail(31119, '$unset specification must be a string or an array containing at least one field');
  for (const f of fields) {
    if (typeof f !== 'string') throw fail(31120, '$unset specification must be a string or an array of strings');
    checkFieldPath(f, 'Invalid $unset :: caused by :: ');
  }
}

function checkReplaceRoot(arg: unknown): void {
  if (!isPlainDoc(arg))
    throw fail(40229, `expected an object as specification for $replaceRoot stage, got ${bsonTypeName(arg)}`);
  for (const k of Object.keys(arg))
    if (k !== 'newRoot')
      throw fail(40230, `unrecognized option to $replaceRoot stage: ${k}, only valid option is 'newRoot'.`);
  if (!('newRoot' in arg)) throw fail(40231, 'no newRoot specified for the $replaceRoot stage');
  checkExpression(arg.newRoot);
}

function checkSample(arg: unknown): void {
  if (!isPlainDoc(arg)) throw fail(28745, 'the $sample stage specification must be an object');
  for (const [k, v] of Object.entries(arg)) {
    if (k !== 'size') throw fail(28748, `unrecognized option to $sample: ${k}`);
    if (!isNumber(v)) throw fail(28746, 'size argument to $sample must be a number');
    if (Number(String(v)) < 0) throw fail(28747, 'size argument to $sample must not be negative');
  }
  if (!('size' in arg)) throw fail(28749, '$sample stage must specify a size');
}

function checkSortByCount(arg: unknown): void {
  if (isPlainDoc(arg)) {
    if (!Object.keys(arg)[0]?.startsWith('$') || Object.keys(arg).length !== 1)
      throw fail(40147, 'the sortByCount field must be specified as a string or as an object');
    checkExpression(arg);
    return;
  }
  if (typeof arg !== 'string' || !arg.startsWith('$'))
    throw fail(40148, 'the sortByCount field must be defined as a $-prefixed path or an expression');
}

function checkGroupBy(arg: unknown, code: number, stage: string): void {
  if (typeof arg === 'string' ? arg.startsWith('$') : isPlainDoc(arg)) {
    checkExpression(arg);
    return;
  }
  throw fail(
    code,
    `The $${stage} 'groupBy' field must be defined as a $-prefixed path or an expression, but found: ${JSON.stringify(arg)}.`,
  );
}

function checkOutput(output: unknown, code: number, stage: string): void {
  if (output === undefined) return;
  if (!isPlainDoc(output))
    throw fail(code, `The $${stage} 'output' field must be an object, but found type: ${bsonTypeName(output)}.`);
  for (const [field, spec] of Object.entries(output)) checkAccumulatorField(field, spec);
}

function checkBucket(arg: unknown): void {
  if (!isPlainDoc(arg))
    throw fail(40201, `Argument to $bucket stage must be an object, but found type: ${bsonTypeName(arg)}.`);
  for (const k of Object.keys(arg)) {
    if (!['groupBy', 'boundaries', 'default', 'output'].includes(k))
      throw fail(40197, `Unrecognized option to $bucket: ${k}.`);
  }
  if (!('groupBy' in arg) || !('boundaries' in arg))
    throw fail(40198, "$bucket requires 'groupBy' and 'boundaries' to be specified.");
  checkGroupBy(arg.groupBy, 40202, 'bucket');
  const b = arg.boundaries;
  if (!Array.isArray(b))
    throw fail(40200, `The $bucket 'boundaries' field must be an array, but found type: ${bsonTypeName(b)}.`);
  if (b.length < 2)
    throw fail(40192, `The $bucket 'boundaries' field must have at least 2 values, but found ${b.length} value(s).`);
  for (let i = 1; i < b.length; i++) {
    const prev = b[i - 1];
    const cur = b[i];
    if (typeClass(prev) !== typeClass(cur))
      throw fail(
        40193,
        `All values in the the 'boundaries' option to $bucket must have the same type. Found conflicting types ${bsonTypeName(prev)} and ${bsonTypeName(cur)}.`,
      );
    if (!(compareSameType(prev, cur) < 0))
      throw fail(
        40194,
        `The 'boundaries' option to $bucket must be sorted in ascending order, but elements ${i - 1} and ${i} are not in ascending order (${JSON.stringify(prev)} is not less than ${JSON.stringify(cur)}).`,
      );
  }
  if ('default' in arg && typeClass(arg.default) === typeClass(b[0])) {
    const d = arg.default;
    if (compareSameType(d, b[0]) >= 0 && compareSameType(d, b[b.length - 1]) < 0)
      throw fail(
        40199,
        "The $bucket 'default' field must be less than the lowest boundary or greater than or equal to the highest boundary.",
      );
  }
  checkOutput(arg.output, 40196, 'bucket');
}

function compareSameType(a: unknown, b: unknown): number {
  const x = typeof a === 'number' || typeof a === 'string' ? a : Number(String(a));
  const y = typeof b === 'number' || typeof b === 'string' ? b : Number(String(b));
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
  return x < y ? -1 : x > y ? 1 : 0;
}

function checkBucketAuto(arg: unknown): void {
  if (!isPlainDoc(arg))
    throw fail(40240, `The argument to $bucketAuto must be an object, but found type: ${bsonTypeName(arg)}.`);
  for (const k of Object.keys(arg)) {
    if (!['groupBy', 'buckets', 'output', 'granularity'].includes(k))
      throw fail(40245, `Unrecognized option to $bucketAuto: ${k}.`);
  }
  if (!('groupBy' in arg) || !('buckets' in arg))
    throw fail(40246, "$bucketAuto requires 'groupBy' and 'buckets' to be specified");
  checkGroupBy(arg.groupBy, 40239, 'bucketAuto');
  const n = arg.buckets;
  if (!isNumber(n) || !Number.isInteger(Number(String(n))))
    throw fail(40241, `The $bucketAuto 'buckets' field must be a numeric value, but found type: ${bsonTypeName(n)}.`);
  if (Number(String(n)) <= 0)
    throw fail(40243, `The $bucketAuto 'buckets' field must be greater than 0, but found: ${String(n)}.`);
  if ('granularity' in arg) throw unsupported("$bucketAuto's 'granularity'");
  checkOutput(arg.output, 40244, 'bucketAuto');
}

function checkFacet(arg: unknown): void {
  if (!isPlainDoc(arg) || Object.keys(arg).length === 0)
    throw fail(40169, 'the $facet specification must be a non-empty object');
  for (const [name, sub] of Object.entries(arg)) {
    checkFieldPath(name, '');
    if (!Array.isArray(sub))
      throw fail(40170, `arguments to $facet must be arrays, ${name} is type ${bsonTypeName(sub)}`);
    for (const stage of sub) {
      const op = isPlainDoc(stage) ? Object.keys(stage)[0] : undefined;
      if (op === '$facet' || op === '$collStats' || op === '$changeStream' || op === '$out' || op === '$merge')
        throw fail(40600, `${op} is not allowed to be used within a $facet stage`);
    }
    checkStages(sub);
  }
}

function checkLookup(arg: unknown): void {
  if (!isPlainDoc(arg)) throw fail(9, 'the $lookup specification must be an Object');
  for (const [k, v] of Object.entries(arg)) {
    if (['from', 'as', 'localField', 'foreignField'].includes(k)) {
      if (k === 'from' && isPlainDoc(v)) continue; // {db, coll}
      if (typeof v !== 'string')
        throw fail(
          ErrorCodeFailedToParse,
          `$lookup argument '${k}: ${JSON.stringify(v)}' must be a string, found ${bsonTypeName(v)}`,
        );
    } else if (k === 'let') {
      if (!isPlainDoc(v))
        throw fail(ErrorCodeFailedToParse, `$lookup argument 'let' must be an object, is type ${bsonTypeName(v)}`);
      for (const e of Object.values(v)) checkExpression(e);
    } else if (k === 'pipeline') {
      if (!Array.isArray(v))
        throw fail(ErrorCodeFailedToParse, `$lookup argument 'pipeline' must be an array, is type ${bsonTypeName(v)}`);
      checkStages(v);
    } else throw fail(9, `unknown argument to $lookup: ${k}`);
  }
  if (typeof arg.as !== 'string') throw fail(9, "must specify 'as' field for a $lookup");
  const hasLocal = 'localField' in arg;
  const hasForeign = 'foreignField' in arg;
  if (hasLocal !== hasForeign)
    throw fail(
      ErrorCodeFailedToParse,
      "$lookup requires both or neither of 'localField' and 'foreignField' to be specified",
    );
  if (!hasLocal && !('pipeline' in arg))
    throw fail(
      ErrorCodeFailedToParse,
      "$lookup requires either 'pipeline' or both 'localField' and 'foreignField' to be specified",
    );
  if (!('from' in arg) && !('pipeline' in arg))
    throw fail(ErrorCodeFailedToParse, "must specify 'from' field for a $lookup");
  if ('let' in arg && !('pipeline' in arg))
    throw fail(ErrorCodeFailedToParse, "$lookup with a 'let' argument must also specify a 'pipeline'");
}

function checkUnionWith(arg: unknown): void {
  if (typeof arg === 'string') return;
  if (!isPlainDoc(arg))
    throw fail(
      ErrorCodeFailedToParse,
      `the $unionWith stage specification must be an object or string, but found ${bsonTypeName(arg)}`,
    );
  for (const [k, v] of Object.entries(arg)) {
    if (k === 'coll') {
      if (typeof v !== 'string')
        throw fail(
          ErrorCodeTypeMismatch,
          `BSON field '$unionWith.coll' is the wrong type '${bsonTypeName(v)}', expected type 'string'`,
        );
    } else if (k === 'pipeline') {
      if (!Array.isArray(v))
        throw fail(
          ErrorCodeTypeMismatch,
          `BSON field '$unionWith.pipeline' is the wrong type '${bsonTypeName(v)}', expected type 'array'`,
        );
      checkStages(v);
    } else throw fail(40415, `BSON field '$unionWith.${k}' is an unknown field.`);
  }
  if (!('coll' in arg) && !('pipeline' in arg))
    throw fail(40414, "BSON field '$unionWith.coll' is missing but a required field");
}

function checkSetWindowFields(arg: unknown): void {
  if (!isPlainDoc(arg))
    throw fail(
      ErrorCodeFailedToParse,
      `the $setWindowFields stage specification must be an object, found ${bsonTypeName(arg)}`,
    );
  for (const k of Object.keys(arg)) {
    if (!['partitionBy', 'sortBy', 'output'].includes(k))
      throw fail(40415, `BSON field '$setWindowFields.${k}' is an unknown field.`);
  }
  if (!isPlainDoc(arg.output))
    throw fail(40414, "BSON field '$setWindowFields.output' is missing but a required field");
  if (arg.sortBy !== undefined) checkSortSpec(arg.sortBy);
  if (arg.partitionBy !== undefined) checkExpression(arg.partitionBy);
  for (const [field, spec] of Object.entries(arg.output)) {
    checkFieldPath(field, '');
    if (!isPlainDoc(spec)) throw fail(ErrorCodeFailedToParse, `The field '${field}' must be an object`);
    const fn = Object.keys(spec).find((k) => k.startsWith('$'));
    if (!fn) throw fail(ErrorCodeFailedToParse, `Expected a $-prefixed window function, ${Object.keys(spec)[0] ?? ''}`);
    if (fn === '$accumulator') throw unsupported('server-side JavaScript ($accumulator)');
    if (!KNOWN_WINDOW_FUNCTIONS.has(fn) || NOT_IN_MONGOD_7.has(fn))
      throw fail(ErrorCodeFailedToParse, `Unrecognized window function, ${fn}`);
    for (const k of Object.keys(spec))
      if (k !== fn && k !== 'window')
        throw fail(ErrorCodeFailedToParse, `Window function found an unknown argument: ${k}`);
    if ('window' in spec) checkWindowBounds(spec.window);
    if (fn === '$shift') checkShift(spec, arg.sortBy !== undefined);
  }
}

/** `$shift`: `output` and an integer `by` (its `default` is optional), a `sortBy` and no `window`; all FailedToParse. */
function checkShift(spec: Doc, sorted: boolean): void {
  const arg = spec.$shift;
  if (!isPlainDoc(arg)) throw fail(ErrorCodeFailedToParse, '$shift requires an object argument');
  for (const k of Object.keys(arg))
    if (k !== 'output' && k !== 'by' && k !== 'default')
      throw fail(ErrorCodeFailedToParse, `Unknown argument in $shift: ${k}`);
  if (!('output' in arg)) throw fail(ErrorCodeFailedToParse, "$shift requires an 'output' expression.");
  if (!isNumber(arg.by) || !Number.isInteger(Number(String(arg.by))))
    throw fail(ErrorCodeFailedToParse, "$shift requires 'by' as an integer value.");
  if (!sorted) throw fail(ErrorCodeFailedToParse, "'$shift' requires a sortBy");
  if ('window' in spec) throw fail(ErrorCodeFailedToParse, "'$shift' does not accept a 'window' field");
}

/** A window bound of `documents`: 'unbounded', 'current' or an integer; of `range`: those or a number. */
function windowBound(v: unknown, documents: boolean): number | undefined {
  if (v === 'unbounded') return undefined;
  if (v === 'current') return 0;
  if (isNumber(v) && (!documents || Number.isInteger(Number(String(v))))) return Number(String(v));
  throw fail(
    ErrorCodeFailedToParse,
    documents
      ? `Numeric document-based bounds must be an integer, or 'unbounded'/'current': ${JSON.stringify(v)}`
      : `Range-based bounds must be a number, or 'unbounded'/'current': ${JSON.stringify(v)}`,
  );
}

/** `window: {documents | range, unit}` as mongod's WindowBounds parser reads it (FailedToParse, 9). */
function checkWindowBounds(window: unknown): void {
  if (!isPlainDoc(window)) throw fail(ErrorCodeFailedToParse, "'window' field must be an object");
  for (const k of Object.keys(window))
    if (k !== 'documents' && k !== 'range' && k !== 'unit')
      throw fail(
        ErrorCodeFailedToParse,
        `'window' field can only contain 'documents' as the only argument or 'range' with an optional 'unit' field; found ${k}`,
      );
  if ('documents' in window && ('range' in window || 'unit' in window))
    throw fail(ErrorCodeFailedToParse, "Window bounds can specify either 'documents' or 'unit', not both.");
  const kind = 'documents' in window ? 'documents' : 'range' in window ? 'range' : undefined;
  if (kind === undefined) {
    if ('unit' in window) throw fail(ErrorCodeFailedToParse, "Window bounds with a 'unit' need 'range'");
    return;
  }
  const bounds = window[kind];
  if (!Array.isArray(bounds) || bounds.length !== 2)
    throw fail(ErrorCodeFailedToParse, `Window bounds must be a 2-element array: ${kind}: ${JSON.stringify(bounds)}`);
  const lower = windowBound(bounds[0], kind === 'documents');
  const upper = windowBound(bounds[1], kind === 'documents');
  if (bounds[0] === 'unbounded' && bounds[1] === 'unbounded') return;
  if (bounds[1] === 'unbounded' || bounds[0] === 'unbounded') return;
  if (lower !== undefined && upper !== undefined && lower > upper)
    throw fail(ErrorCodeFailedToParse, `Lower bound must not exceed upper bound: ${JSON.stringify(bounds)}`);
}

/** A stage parsed by mongod's IDL: unknown fields 40415, missing required ones 40414, wrong types 14. */
function checkIdlStage(
  op: string,
  arg: unknown,
  fields: Record<string, 'object' | 'string' | 'array' | 'any'>,
  required: string[],
): void {
  if (!isPlainDoc(arg))
    throw fail(ErrorCodeTypeMismatch, `${op} specification must be an object, found ${bsonTypeName(arg)}`);
  for (const [k, v] of Object.entries(arg)) {
    const want = fields[k];
    if (want === undefined) throw fail(40415, `BSON field '${op}.${k}' is an unknown field.`);
    const ok =
      want === 'any' ||
      (want === 'object' && isPlainDoc(v)) ||
      (want === 'string' && typeof v === 'string') ||
      (want === 'array' && Array.isArray(v));
    if (!ok)
      throw fail(
        ErrorCodeTypeMismatch,
        `BSON field '${op}.${k}' is the wrong type '${bsonTypeName(v)}', expected type '${want}'`,
      );
  }
  for (const k of required) {
    if (!(k in arg)) throw fail(40414, `BSON field '${op}.${k}' is missing but a required field`);
  }
}

function checkGraphLookup(arg: unknown): void {
  if (!isPlainDoc(arg))
    throw fail(40327, `the $graphLookup stage specification must be an object, but found ${bsonTypeName(arg)}`);
  for (const [k, v] of Object.entries(arg)) {
    if (['as', 'connectFromField', 'connectToField', 'depthField'].includes(k)) {
      if (typeof v !== 'string') throw fail(40103, `expected string as argument for ${k}, found: ${bsonTypeName(v)}`);
    } else if (k === 'from') {
      if (typeof v !== 'string')
        throw fail(ErrorCodeFailedToParse, `$graphLookup 'from' field must be a string, but found ${bsonTypeName(v)}`);
    } else if (k === 'maxDepth') {
      if (!isNumber(v)) throw fail(40100, `maxDepth must be numeric, found type: ${bsonTypeName(v)}`);
      if (Number(String(v)) < 0) throw fail(40101, `maxDepth requires a nonnegative argument, found: ${String(v)}`);
      if (!Number.isInteger(Number(String(v))))
        throw fail(40102, `maxDepth could not be represented as a long long: ${String(v)}`);
    } else if (k === 'restrictSearchWithMatch') {
      if (!isPlainDoc(v)) throw fail(40185, `restrictSearchWithMatch must be an object, found ${bsonTypeName(v)}`);
      validateFilter(v);
    } else if (k === 'startWith') {
      checkExpression(v);
    } else throw fail(40104, `Unknown argument to $graphLookup: ${k}`);
  }
  for (const k of ['from', 'as', 'startWith', 'connectFromField', 'connectToField']) {
    if (!(k in arg))
      throw fail(
        40105,
        "$graphLookup requires 'from', 'as', 'startWith', 'connectFromField', and 'connectToField' to be specified.",
      );
  }
}

/** Checks one stage's name and arguments. */
function checkStage(stage: unknown): void {
  if (!isPlainDoc(stage)) throw fail(14, "Each element of the 'pipeline' array must be an object");
  const keys = Object.keys(stage);
  if (keys.length !== 1) throw fail(40323, 'A pipeline stage specification object must contain exactly one field.');
  const op = keys[0] as string;
  const arg = stage[op];
  if (UNSUPPORTED_STAGES.has(op)) throw unsupported(op);
  if (!RUN_STAGES.has(op)) throw fail(40324, `Unrecognized pipeline stage name: '${op}'`);
  switch (op) {
    case '$limit':
      checkLimit(arg);
      return;
    case '$skip':
      checkSkip(arg);
      return;
    case '$unwind':
      checkUnwind(arg);
      return;
    case '$project':
      if (!isPlainDoc(arg)) throw fail(15969, '$project specification must be an object');
      checkProjection(arg, true);
      return;
    case '$unset':
      checkUnset(arg);
      return;
    case '$group':
      checkGroup(arg);
      return;
    case '$sort':
      checkSortSpec(arg);
      return;
    case '$count':
      checkCount(arg);
      return;
    case '$match':
      if (!isPlainDoc(arg)) throw fail(15959, 'the match filter must be an expression in an object');
      validateFilter(arg);
      return;
    case '$addFields':
    case '$set':
      checkAddFields(op, arg);
      return;
    case '$replaceRoot':
      checkReplaceRoot(arg);
      return;
    case '$replaceWith':
      checkExpression(arg);
      return;
    case '$sample':
      checkSample(arg);
      return;
    case '$sortByCount':
      checkSortByCount(arg);
      return;
    case '$bucket':
      checkBucket(arg);
      return;
    case '$bucketAuto':
      checkBucketAuto(arg);
      return;
    case '$facet':
      checkFacet(arg);
      return;
    case '$lookup':
      checkLookup(arg);
      return;
    case '$unionWith':
      checkUnionWith(arg);
      return;
    case '$setWindowFields':
      checkSetWindowFields(arg);
      return;
    case '$graphLookup':
      checkGraphLookup(arg);
      return;
    case '$densify':
      checkIdlStage(op, arg, { field: 'string', partitionByFields: 'array', range: 'object' }, ['field', 'range']);
      checkIdlStage('$densify.range', (arg as Doc).range, { step: 'any', unit: 'string', bounds: 'any' }, [
        'step',
        'bounds',
      ]);
      checkDensify(arg as Doc);
      return;
    case '$fill':
      if (!isPlainDoc(arg))
        throw fail(ErrorCodeFailedToParse, `$fill specification must be an object, found ${bsonTypeName(arg)}`);
      checkIdlStage(op, arg, { partitionBy: 'any', partitionByFields: 'array', sortBy: 'object', output: 'object' }, [
        'output',
      ]);
      checkFill(arg);
      return;
    case '$redact':
      checkExpression(arg);
      return;
    case '$collStats':
      checkCollStats(arg);
      return;
  }
}

const isDate = (v: unknown): boolean => v instanceof Date;

/**
 * `$densify`'s values as mongod's RangeStatement and stage parsers check them (codes pinned by
 * mongod's densify parse tests): step 14/5733401/6586400, bounds 5733402/5733403/5733406/5733408/
 * 5733409, `$`-prefixed field names 16410.
 */
function checkDensify(arg: Doc): void {
  const range = arg.range as Doc;
  const fieldNames = [arg.field, ...((arg.partitionByFields as unknown[] | undefined) ?? [])];
  for (const name of fieldNames)
    if (typeof name === 'string' && name.startsWith('$'))
      throw fail(16410, "FieldPath field names may not start with '$'. Consider using $getField or $setField.");
  const { step, unit, bounds } = range;
  if (!isNumber(step))
    throw fail(
      ErrorCodeTypeMismatch,
      `BSON field '$densify.range.step' is the wrong type '${bsonTypeName(step)}', expected types '[int, decimal, double, long']`,
    );
  if (!(Number(String(step)) > 0))
    throw fail(5733401, 'The step parameter in a range statement must be a strictly positive numeric value');
  if (unit !== undefined && !Number.isInteger(Number(String(step))))
    throw fail(6586400, 'The step parameter in a range statement must be a whole number when densifying a date range');
  const notAscending = (): MongoCommandError =>
    fail(
      5733402,
      "the bounds in a range statement must be the string 'full', 'partition', or an ascending array of two numbers or two dates",
    );
  if (Array.isArray(bounds)) {
    if (bounds.length !== 2)
      throw fail(5733403, 'A bounding array in a range statement must have exactly two elements');
    const [lo, hi] = bounds as [unknown, unknown];
    if (isNumber(lo) && isNumber(hi)) {
      if (unit !== undefined) throw fail(5733409, 'Numeric bounds may not have unit parameter.');
      if (Number(String(lo)) > Number(String(hi))) throw notAscending();
    } else if (isDate(lo) && isDate(hi)) {
      if ((lo as Date).getTime() > (hi as Date).getTime()) throw notAscending();
    } else if (isNumber(lo) && isDate(hi)) {
      throw fail(5733406, 'A bounding array must contain either both dates or both numeric types');
    } else throw notAscending();
  } else if (bounds === 'partition') {
    const partitionBy = arg.partitionByFields as unknown[] | undefined;
    if (!partitionBy || partitionBy.length === 0)
      throw fail(
        5733408,
        "One may not specify the bounds as 'partition' without specifying a non-empty array of partitionByFields. You may have meant to specify 'full' bounds.",
      );
  } else if (bounds !== 'full') throw notAscending();
}

/** `$fill`'s output and partitions with mongod's codes (pinned by mongod's fill parse tests: 6050200-6050204, 605001). */
function checkFill(arg: Doc): void {
  const output = arg.output as Doc;
  if (Object.keys(output).length === 0) throw fail(6050203, '$fill must specify at least one output field');
  for (const [field, spec] of Object.entries(output)) {
    if (!isPlainDoc(spec))
      throw fail(6050200, `All output fields must be objects, found ${bsonTypeName(spec)} for '${field}'`);
    checkIdlStage(`$fill.output.${field}`, spec, { method: 'any', value: 'any' }, []);
    if ('method' in spec && spec.method !== 'locf' && spec.method !== 'linear')
      throw fail(6050202, `Method must be either 'linear' or 'locf', found ${JSON.stringify(spec.method)}`);
    if (spec.method === 'linear' && arg.sortBy === undefined) throw fail(605001, "'linear' fill requires a sortBy");
  }
  if (arg.partitionBy !== undefined && arg.partitionByFields !== undefined)
    throw fail(6050204, "Maximum one of 'partitionBy' and 'partitionByFields can be specified in '$fill'");
}

/** `$collStats`' spec as mongod parses it (codes measured against mongod by FerretDB's compatibility tests). */
function checkCollStats(arg: unknown): void {
  if (!isPlainDoc(arg)) throw fail(5447000, `$collStats must take a nested object but found: ${JSON.stringify(arg)}`);
  checkIdlStage(
    '$collStats',
    arg,
    { latencyStats: 'object', storageStats: 'object', count: 'object', queryExecStats: 'object' },
    [],
  );
  const storage = arg.storageStats;
  if (!isPlainDoc(storage)) return;
  checkIdlStage('$collStats.storageStats', storage, { scale: 'any' }, []);
  if (storage.scale === undefined) return;
  if (!isNumber(storage.scale))
    throw fail(
      ErrorCodeTypeMismatch,
      `BSON field '$collStats.storageStats.scale' is the wrong type '${bsonTypeName(storage.scale)}', expected types '[long, int, decimal, double]'`,
    );
  if (Number(String(storage.scale)) < 1)
    throw fail(51024, `BSON field 'scale' value must be >= 1, actual value '${String(storage.scale)}'`);
}

/**
 * `$documents` outside the first place (mongod expands it to a `$queue` that must come first:
 * 40602), or with a literal element that is no document (its `$replaceWith`: 40228).
 */
function checkDocumentsStage(stage: unknown, position: number): void {
  if (isPlainDoc(stage) && '$collStats' in stage && position > 0)
    throw fail(40602, '$collStats is only valid as the first stage in a pipeline');
  if (!isPlainDoc(stage) || !('$documents' in stage)) return;
  if (position > 0) throw fail(40602, '$documents is only valid as the first stage in a pipeline');
  const arg = stage.$documents;
  if (!Array.isArray(arg)) return; // an expression: checked when it runs
  for (const element of arg) {
    const literal = !isPlainDoc(element) && !(typeof element === 'string' && element.startsWith('$'));
    if (literal)
      throw fail(
        40228,
        `'newRoot' expression must evaluate to an object, but resulting value was: ${JSON.stringify(element)}`,
      );
  }
}

function checkStages(stages: unknown[]): void {
  stages.forEach((stage, i) => {
    checkStage(stage);
    checkDocumentsStage(stage, i);
  });
}

/**
 * Stages whose constraints in mongod say `TransactionRequirement::kNotAllowed` ($out and $merge are
 * refused where their target is checked, commands/aggregate-write.ts).
 */
const NOT_IN_TRANSACTION = new Set([
  '$unionWith',
  '$collStats',
  '$indexStats',
  '$currentOp',
  '$listSessions',
  '$listLocalSessions',
  '$planCacheStats',
]);

/**
 * mongod's Pipeline::validateCommon, for a pipeline and every sub-pipeline ($lookup, $facet): a
 * stage not allowed in a multi-document transaction is 263 there.
 */
function refuseInTransaction(stages: unknown[]): void {
  for (const stage of stages) {
    if (!isPlainDoc(stage)) continue;
    for (const [name, arg] of Object.entries(stage)) {
      if (NOT_IN_TRANSACTION.has(name)) {
        throw fail(263, `Stage not supported inside of a multi-document transaction: ${name}`);
      }
      if (name === '$lookup' && isPlainDoc(arg) && Array.isArray(arg.pipeline)) refuseInTransaction(arg.pipeline);
      if (name === '$facet' && isPlainDoc(arg)) {
        for (const sub of Object.values(arg)) if (Array.isArray(sub)) refuseInTransaction(sub);
      }
    }
  }
}

/**
 * Refuses a pipeline mongod would not parse, with mongod's code, before any stage runs; and the
 * stages and expressions this server does not run (115). Inside a multi-document transaction, also
 * the stages mongod does not allow there (263).
 */
export function validatePipeline(stages: unknown[], options: { inTransaction?: boolean } = {}): void {
  checkStages(stages);
  if (options.inTransaction) refuseInTransaction(stages);
}
