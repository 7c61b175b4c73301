/**
 * The write stages that end an aggregation pipeline, `$out` and `$merge`, as MongoDB 7.0 runs them.
 *
 * - `$out` writes the results into a temporary collection `tmp.agg_out.<uuid>` of the target
 *   database (with the target's options and indexes), then renames it over the target: readers see
 *   the old target or the whole new one, and a failure (a duplicate key…) leaves the old one intact.
 * - `$merge` looks each result up in the target by its `on` fields (backed by a unique index) and
 *   replaces / merges / keeps / fails / runs a pipeline on a match, inserts / discards / fails
 *   otherwise, as the update or insert statements mongod issues for it.
 *
 * Every document goes through the storage engine's write path (unique checks, index maintenance,
 * MVCC), and all of one command's changes land in one journal record (journal.ts units).
 */
import { UUID } from 'bson';
import { aggregate as mingoAggregate } from 'mingo';
import { cloneDoc, withIdFirst } from '../bson/documents.ts';
import { isWriteError, MongoCommandError } from '../bson/errors.ts';
import { bsonTypeName, keyString } from '../bson/order.ts';
import { runQuery } from '../query/execute.ts';
import { applyUpdate, upsertSeed } from '../query/update.ts';
import {
  type Collection,
  checkCollectionName,
  checkDbName,
  type Doc,
  type Engine,
  LATEST,
  LockWait,
} from '../storage/engine.ts';
import { bypassValidation, checkId, checkSize, collectionForWrite, retryOnLock, sameBson } from './common.ts';
import type { CommandContext } from './types.ts';

/** Where a write stage writes. */
interface Target {
  db: string;
  coll: string;
}

type WhenMatched = 'replace' | 'keepExisting' | 'merge' | 'fail' | 'pipeline';
type WhenNotMatched = 'insert' | 'discard' | 'fail';

/** A parsed `$out` or `$merge` stage. */
export type WriteStage =
  | ({ op: '$out' } & Target)
  | ({
      op: '$merge';
      on: string[];
      whenMatched: WhenMatched;
      pipeline: Doc[] | undefined;
      whenNotMatched: WhenNotMatched;
      let: Doc | undefined;
    } & Target);

const WRITE_STAGES = new Set(['$out', '$merge']);
const INTERNAL_DBS = new Set(['admin', 'local', 'config']);
/** The whenMatched/whenNotMatched pairs mongod has a merge strategy for. */
const SUPPORTED_MODES = new Set([
  'replace/insert',
  'replace/fail',
  'replace/discard',
  'merge/insert',
  'merge/fail',
  'merge/discard',
  'keepExisting/insert',
  'fail/insert',
  'pipeline/insert',
  'pipeline/fail',
  'pipeline/discard',
]);

function isPlainDoc(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/** Where sub-pipelines sit in a stage, and the error mongod gives for a write stage inside one. */
function subPipelines(stage: Doc): Array<{ pipeline: unknown[]; code: number; where: string }> {
  const op = Object.keys(stage)[0] ?? '';
  const arg = stage[op];
  if (!isPlainDoc(arg)) return [];
  if (op === '$facet') {
    return Object.values(arg)
      .filter(Array.isArray)
      .map((pipeline) => ({ pipeline, code: 40600, where: 'is not allowed to be used within a $facet stage' }));
  }
  if ((op === '$lookup' || op === '$unionWith') && Array.isArray(arg.pipeline)) {
    const where = `is not allowed within a ${op}'s sub-pipeline`;
    return [{ pipeline: arg.pipeline, code: op === '$lookup' ? 51047 : 31441, where }];
  }
  return [];
}

/** Refuses `$out`/`$merge` nested in `$facet`, `$lookup` or `$unionWith` (mingo would run them as no-ops). */
function rejectNestedWriteStages(stage: Doc): void {
  for (const { pipeline, code, where } of subPipelines(stage)) {
    for (const inner of pipeline) {
      if (!isPlainDoc(inner)) continue;
      const op = Object.keys(inner)[0] ?? '';
      if (WRITE_STAGES.has(op)) throw new MongoCommandError(code, `${op} ${where}`);
      rejectNestedWriteStages(inner);
    }
  }
}

/**
 * Takes the final `$out`/`$merge` off a pipeline, validated as mongod does: spec, target namespace,
 * not in a transaction, not with linearizable read concern, only as the last stage.
 */
export function takeWriteStage(ctx: CommandContext, stages: Doc[]): { read: Doc[]; write: WriteStage | undefined } {
  const positions: number[] = [];
  stages.forEach((stage, i) => {
    if (WRITE_STAGES.has(Object.keys(stage)[0] ?? '')) positions.push(i);
  });
  if (positions.length > 0) checkReadConcern(ctx, Object.keys(stages[positions[0] as number] as Doc)[0] as string);
  let write: WriteStage | undefined;
  for (const stage of stages) {
    rejectNestedWriteStages(stage);
    const op = Object.keys(stage)[0] ?? '';
    if (op === '$out') write = parseOut(ctx, stage.$out);
    else if (op === '$merge') write = parseMerge(ctx, stage.$merge);
  }
  for (const i of positions) {
    if (i !== stages.length - 1) {
      const op = Object.keys(stages[i] as Doc)[0];
      throw new MongoCommandError(40601, `${op} can only be the final stage in the pipeline`);
    }
  }
  return write ? { read: stages.slice(0, -1), write } : { read: stages, write };
}

function checkReadConcern(ctx: CommandContext, op: string): void {
  const level = (ctx.cmd.readConcern as Doc | undefined)?.level;
  if (level === 'linearizable')
    throw new MongoCommandError(72, `${op} cannot be used with a 'linearizable' read concern level`);
  if (level === 'snapshot' && !ctx.txn)
    throw new MongoCommandError(
      72,
      `${op} with readConcern 'snapshot' is not supported by the embedded MongoDB server (see dev/mongo/README.md)`,
    );
}

/** Checks shared by both stages once the target is known (mongod's DocumentSourceOut/Merge::create). */
function checkTarget(ctx: CommandContext, op: string, target: Target): void {
  if (ctx.txn) throw new MongoCommandError(263, `${op} cannot be used in a transaction`);
  const internal = INTERNAL_DBS.has(target.db);
  const special = target.coll.startsWith('system.');
  if (op === '$out') {
    if (special) throw new MongoCommandError(17385, `Can't $out to special collection: ${target.coll}`);
    if (internal) throw new MongoCommandError(31321, `Can't $out to internal database: ${target.db}`);
  } else {
    if (special) throw new MongoCommandError(31319, `Cannot $merge to special collection: ${target.coll}`);
    if (internal) throw new MongoCommandError(31320, `Cannot $merge to internal database: ${target.db}`);
  }
}

function validNamespace(op: string, target: Target, sep: string): void {
  const shown = `${target.db}.${target.coll}`;
  try {
    checkDbName(target.db);
    checkCollectionName(target.db, target.coll.startsWith('system.') ? target.coll.slice(7) : target.coll);
  } catch {
    throw new MongoCommandError(73, `Invalid ${op} target namespace${sep}${shown}`);
  }
}

function parseOut(ctx: CommandContext, spec: unknown): WriteStage {
  let target: Target;
  if (typeof spec === 'string') target = { db: ctx.db, coll: spec };
  else if (isPlainDoc(spec)) {
    for (const key of Object.keys(spec)) {
      if (key === 'timeseries')
        throw new MongoCommandError(
          115,
          '$out to a time-series collection is not supported by the embedded MongoDB server',
        );
      if (key !== 'db' && key !== 'coll')
        throw new MongoCommandError(40415, `BSON field '$out.${key}' is an unknown field.`);
    }
    for (const key of ['db', 'coll'] as const) {
      if (spec[key] === undefined)
        throw new MongoCommandError(40414, `BSON field '$out.${key}' is missing but a required field`);
      if (typeof spec[key] !== 'string')
        throw new MongoCommandError(
          14,
          `BSON field '$out.${key}' is the wrong type '${bsonTypeName(spec[key])}', expected type 'string'`,
        );
    }
    target = { db: spec.db as string, coll: spec.coll as string };
  } else {
    throw new MongoCommandError(
      16990,
      `$out only supports a string or object argument, but found ${bsonTypeName(spec)}`,
    );
  }
  validNamespace('$out', target, ', ');
  checkTarget(ctx, '$out', target);
  return { op: '$out', ...target };
}

function enumValue<T extends string>(field: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  if (typeof v !== 'string')
    throw new MongoCommandError(
      14,
      `BSON field '${field}' is the wrong type '${bsonTypeName(v)}', expected type 'string'`,
    );
  throw new MongoCommandError(2, `Enumeration value '${v}' for field '${field}' is not a valid value.`);
}

function mergeTarget(ctx: CommandContext, into: unknown): Target {
  if (into === undefined)
    throw new MongoCommandError(40414, "BSON field '$merge.into' is missing but a required field");
  if (typeof into === 'string') {
    if (into === '') throw new MongoCommandError(5786800, "$merge 'into' field cannot be an empty string");
    return { db: ctx.db, coll: into };
  }
  if (!isPlainDoc(into))
    throw new MongoCommandError(
      51178,
      `$merge 'into' field  must be either a string or an object, but found ${bsonTypeName(into)}`,
    );
  for (const key of Object.keys(into)) {
    if (key !== 'db' && key !== 'coll')
      throw new MongoCommandError(40415, `BSON field 'into.${key}' is an unknown field.`);
    if (into[key] !== undefined && into[key] !== null && typeof into[key] !== 'string')
      throw new MongoCommandError(
        14,
        `BSON field 'into.${key}' is the wrong type '${bsonTypeName(into[key])}', expected type 'string'`,
      );
  }
  if (typeof into.coll !== 'string' || into.coll === '')
    throw new MongoCommandError(
      5786801,
      "$merge 'into' field must specify a 'coll' that is not empty, null or undefined",
    );
  return { db: typeof into.db === 'string' && into.db !== '' ? into.db : ctx.db, coll: into.coll };
}

function mergeOnFields(on: unknown): string[] | undefined {
  if (on === undefined) return undefined;
  if (typeof on !== 'string' && !Array.isArray(on))
    throw new MongoCommandError(
      51186,
      `$merge 'on' field  must be either a string or an array of strings, but found ${bsonTypeName(on)}`,
    );
  const fields = typeof on === 'string' ? [on] : on;
  for (const f of fields) {
    if (typeof f !== 'string')
      throw new MongoCommandError(51134, `$merge 'on' array elements must be strings, but found ${bsonTypeName(f)}`);
  }
  if (fields.length === 0)
    throw new MongoCommandError(51187, "If explicitly specifying $merge 'on', must include at least one field");
  const seen = new Set<string>();
  for (const f of fields as string[]) {
    if (seen.has(f)) throw new MongoCommandError(31465, `Found a duplicate field '${f}'`);
    seen.add(f);
  }
  return fields as string[];
}

/**
 * mongod's check that `on` is backed by a unique, non-partial index on exactly those fields, with
 * the aggregation's collation. That collation is always simple here: an aggregate with another one
 * refuses `$merge` (collated-ops.ts), so an index with a collation of its own does not count.
 */
function checkOnHasUniqueIndex(ctx: CommandContext, target: Target, on: string[]): void {
  const coll = ctx.engine.getCollection(target.db, target.coll);
  const wanted = [...on].sort().join('\0');
  const supported = coll
    ? [...coll.indexes.values()].some(
        (index) =>
          (index.unique || index.name === '_id_') &&
          index.spec.partialFilterExpression === undefined &&
          index.collation === undefined &&
          Object.keys(index.spec.key).sort().join('\0') === wanted,
      )
    : wanted === '_id';
  if (!supported) throw new MongoCommandError(51183, 'Cannot find index to verify that join fields will be unique');
}

function parseMerge(ctx: CommandContext, spec: unknown): WriteStage {
  if (typeof spec !== 'string' && !isPlainDoc(spec))
    throw new MongoCommandError(14, `$merge requires a string or object argument, but found ${bsonTypeName(spec)}`);
  const s: Doc = typeof spec === 'string' ? { into: spec } : spec;
  for (const key of Object.keys(s)) {
    if (!['into', 'on', 'let', 'whenMatched', 'whenNotMatched'].includes(key))
      throw new MongoCommandError(40415, `BSON field '$merge.${key}' is an unknown field.`);
  }
  const target = mergeTarget(ctx, s.into);
  const on = mergeOnFields(s.on);
  let whenMatched: WhenMatched = 'merge';
  let pipeline: Doc[] | undefined;
  if (Array.isArray(s.whenMatched)) {
    whenMatched = 'pipeline';
    pipeline = s.whenMatched as Doc[];
  } else if (s.whenMatched !== undefined) {
    if (typeof s.whenMatched !== 'string')
      throw new MongoCommandError(
        51191,
        `$merge 'whenMatched' field  must be either a string or an array, but found ${bsonTypeName(s.whenMatched)}`,
      );
    whenMatched = enumValue('whenMatched', s.whenMatched, ['replace', 'keepExisting', 'merge', 'fail'] as const);
  }
  const whenNotMatched =
    s.whenNotMatched === undefined
      ? 'insert'
      : enumValue('$merge.whenNotMatched', s.whenNotMatched, ['insert', 'discard', 'fail'] as const);
  validNamespace('$merge', target, ': ');
  if (!SUPPORTED_MODES.has(`${whenMatched}/${whenNotMatched}`))
    throw new MongoCommandError(
      51181,
      `Combination of $merge modes 'whenMatched: ${whenMatched}' and 'whenNotMatched: ${whenNotMatched}' is not supported`,
    );
  if (s.let !== undefined && !isPlainDoc(s.let))
    throw new MongoCommandError(
      14,
      `BSON field '$merge.let' is the wrong type '${bsonTypeName(s.let)}', expected type 'object'`,
    );
  checkOnHasUniqueIndex(ctx, target, on ?? ['_id']);
  checkTarget(ctx, '$merge', target);
  let letSpec = s.let as Doc | undefined;
  if (whenMatched === 'pipeline') {
    letSpec = letSpec ?? { new: '$$ROOT' };
    if ('new' in letSpec && letSpec.new !== '$$ROOT')
      throw new MongoCommandError(
        51273,
        "'let' may not define a value for the reserved 'new' variable other than '$$ROOT'",
      );
    // Like mongod: an insert-on-no-match merge always has `new` (it carries the document to insert).
    if (!('new' in letSpec) && whenNotMatched === 'insert') letSpec = { ...letSpec, new: '$$ROOT' };
    for (const name of Object.keys(letSpec)) {
      if (!/^[a-z]/.test(name) && !(name.charCodeAt(0) > 127))
        throw new MongoCommandError(2, `'${name}' starts with an invalid character for a user variable name`);
    }
  } else if (letSpec !== undefined) {
    throw new MongoCommandError(51199, `Cannot use 'let' variables with 'whenMatched: ${whenMatched}' mode`);
  }
  return { op: '$merge', ...target, on: on ?? ['_id'], whenMatched, pipeline, whenNotMatched, let: letSpec };
}

/** Writes the pipeline's results as the stage says; `variables` are the command's `let`. */
export async function runWriteStage(
  ctx: CommandContext,
  stage: WriteStage,
  results: Doc[],
  variables: Doc | undefined,
): Promise<void> {
  const bypass = bypassValidation(ctx);
  if (stage.op === '$out') await runOut(ctx, stage, results, bypass);
  else await runMerge(ctx, stage, results, variables, bypass);
}

/** Prefix of `$out`'s temporary collections (mongod's, which tools such as MongoMirror know). */
const OUT_TEMP_PREFIX = 'tmp.agg_out.';

/**
 * Drops the temporary collections of `$out`s a crash interrupted (one can reach the journal through
 * a compaction while its `$out` waits for a transaction), as mongod does at startup.
 */
export function dropInterruptedOutCollections(engine: Engine): void {
  for (const [db, colls] of [...engine.dbs]) {
    for (const name of [...colls.keys()]) if (name.startsWith(OUT_TEMP_PREFIX)) engine.dropCollection(db, name);
  }
}

/** A collection's secondary index specs, to copy them and to see whether they changed. */
function indexSpecs(coll: Collection | undefined): Doc[] {
  return coll ? [...coll.indexes.values()].filter((i) => i.name !== '_id_').map((i) => ({ ...i.spec })) : [];
}

async function runOut(ctx: CommandContext, target: Target, results: Doc[], bypass: boolean): Promise<void> {
  const { engine } = ctx;
  const original = engine.getCollection(target.db, target.coll);
  const originalIndexes = indexSpecs(original);
  const temp = engine.ensureCollection(target.db, `${OUT_TEMP_PREFIX}${new UUID().toHexString()}`, {
    ...(original?.options ?? {}),
  });
  try {
    for (const spec of originalIndexes) engine.addIndex(temp, spec as never);
    for (const raw of results) {
      const doc = withIdFirst(cloneDoc(raw));
      checkId(doc._id);
      checkSize(doc);
      engine.writeDoc(temp, keyString(doc._id), doc, LATEST, 'insert', bypass);
    }
    await retryOnLock(ctx, () => {
      const current = engine.getCollection(target.db, target.coll);
      if (current) {
        // Like mongod's exclusive lock for the rename: wait for transactions using the old target.
        const creator = current.createdBy;
        if (creator?.state === 'active') throw new LockWait(creator.done);
        engine.checkNoOtherWriters(current);
      }
      if (JSON.stringify(indexSpecs(current)) !== JSON.stringify(originalIndexes))
        throw new MongoCommandError(
          125,
          `indexes of target collection ${target.db}.${target.coll} changed during processing.`,
        );
      engine.renameCollection(temp, target.coll);
    });
  } catch (err) {
    if (engine.getCollection(temp.db, temp.name) === temp) engine.dropCollection(temp.db, temp.name);
    throw err;
  }
}

/** The value at a dotted path of a document; undefined when absent or under an array (like mongod's getNestedField). */
function valueAt(doc: Doc, path: string): unknown {
  let v: unknown = doc;
  for (const part of path.split('.')) {
    if (Array.isArray(v) || typeof v !== 'object' || v === null) return undefined;
    v = (v as Doc)[part];
  }
  return v;
}

/** The filter finding a result's match in the target: equality on each `on` field (mongod's errors for bad values). */
function matchFilter(doc: Doc, on: string[]): Doc {
  const filter: Doc = {};
  for (const path of on) {
    const value = valueAt(doc, path);
    if (Array.isArray(value))
      throw new MongoCommandError(51185, `$merge write error: 'on' field '${path}' is an array`);
    if (value === undefined || value === null)
      throw new MongoCommandError(
        51132,
        `$merge write error: 'on' field '${path}' cannot be missing, null, undefined or an array`,
      );
    filter[path] = { $eq: value };
  }
  return filter;
}

/** The `$merge` stage's `let`, evaluated against one result (`$$new` is the result itself). */
function mergeVariables(stage: Extract<WriteStage, { op: '$merge' }>, doc: Doc, variables: Doc | undefined): Doc {
  if (!stage.let) return variables ?? {};
  try {
    const [evaluated] = mingoAggregate(
      [doc],
      [{ $replaceWith: { v: stage.let } }],
      variables ? { variables } : {},
    ) as Doc[];
    return { ...(variables ?? {}), ...((evaluated?.v as Doc | undefined) ?? {}) };
  } catch (err) {
    throw new MongoCommandError(2, err instanceof Error ? err.message : String(err));
  }
}

/** The update mongod issues for a matched result in each mode. */
function modification(stage: Extract<WriteStage, { op: '$merge' }>, doc: Doc): unknown {
  switch (stage.whenMatched) {
    case 'merge':
      return { $set: doc };
    case 'keepExisting':
      return { $setOnInsert: doc };
    case 'pipeline':
      return stage.pipeline;
    default:
      return doc;
  }
}

/** mongod's context on the errors `$merge` passes on. */
function withMergeContext(err: MongoCommandError, stage: Extract<WriteStage, { op: '$merge' }>): MongoCommandError {
  let context: string | undefined;
  if (err.code === 66)
    context = '$merge failed to update the matching document, did you attempt to modify the _id or the shard key?';
  if (err.code === 11000) {
    const pattern = Object.keys((err.extra.keyPattern as Doc | undefined) ?? {});
    const onFields = pattern.length === stage.on.length && stage.on.every((f) => pattern.includes(f));
    context =
      stage.whenMatched === 'fail' && onFields
        ? "$merge with whenMatched: fail found an existing document with the same values for the 'on' fields"
        : '$merge failed due to a DuplicateKey error';
  }
  if (!context) return err;
  return new MongoCommandError(err.code, `${context} :: caused by :: ${err.message}`, err.extra, err.errorLabels);
}

async function runMerge(
  ctx: CommandContext,
  stage: Extract<WriteStage, { op: '$merge' }>,
  results: Doc[],
  variables: Doc | undefined,
  bypass: boolean,
): Promise<void> {
  const onId = stage.on.includes('_id');
  // Like mongod building its batch: every result gets its `on` values (51132/51185) and `let`
  // before anything is written, so such an error writes nothing.
  const batch = results.map((raw) => {
    let doc = cloneDoc(raw);
    if (onId && doc._id === undefined) doc = withIdFirst(doc);
    const filter = matchFilter(doc, stage.on);
    const vars = stage.whenMatched === 'pipeline' ? mergeVariables(stage, doc, variables) : variables;
    return { doc, filter, vars };
  });
  const { engine } = ctx;
  let coll = engine.getCollection(stage.db, stage.coll);
  if (!coll && stage.whenNotMatched === 'insert' && results.length > 0)
    coll = await collectionForWrite(ctx, stage.coll, {}, stage.db);
  let unmatched = 0;
  let firstError: MongoCommandError | undefined;
  // mongod sends the writes as unordered batches: every result is tried, the first error is reported.
  for (const { doc, filter, vars } of batch) {
    try {
      const outcome = await retryOnLock(ctx, () => mergeOne(ctx, coll, stage, doc, filter, vars, bypass));
      if (outcome === 'unmatched') unmatched++;
    } catch (err) {
      if (!isWriteError(err)) throw err;
      firstError ??= withMergeContext(err, stage);
    }
  }
  if (firstError) throw firstError;
  if (unmatched > 0 && stage.whenNotMatched === 'fail')
    throw new MongoCommandError(
      13113,
      '$merge could not find a matching document in the target collection for at least one document in the source collection',
    );
}

/** Merges one result into the target (synchronous, so retryOnLock can run it again from scratch). */
function mergeOne(
  ctx: CommandContext,
  coll: Collection | undefined,
  stage: Extract<WriteStage, { op: '$merge' }>,
  doc: Doc,
  filter: Doc,
  variables: Doc | undefined,
  bypass: boolean,
): 'matched' | 'unmatched' | 'inserted' {
  const { engine } = ctx;
  const insert = (next: Doc): 'inserted' => {
    if (!coll) throw new MongoCommandError(26, `collection ${stage.db}.${stage.coll} does not exist`);
    const stored = withIdFirst(next);
    checkId(stored._id);
    checkSize(stored);
    engine.writeDoc(coll, keyString(stored._id), stored, LATEST, 'insert', bypass);
    return 'inserted';
  };
  // whenMatched: fail is an insert; the _id / unique index reports the match as a duplicate key.
  if (stage.whenMatched === 'fail') return insert(doc);
  const current = coll ? runQuery(engine, coll, LATEST, filter, { limit: 1, variables })[0] : undefined;
  const u = modification(stage, doc);
  if (current && coll) {
    const next = applyUpdate(current, u, { query: filter, isInsert: false, variables });
    if (!sameBson(current, next)) {
      checkSize(next);
      engine.writeDoc(coll, keyString(current._id), next, LATEST, 'replace', bypass);
    }
    return 'matched';
  }
  if (stage.whenNotMatched !== 'insert') return 'unmatched';
  if (stage.whenMatched === 'pipeline') return insert(doc); // mongod inserts the result itself
  const kind = stage.whenMatched === 'replace' ? 'replacement' : 'operators';
  return insert(applyUpdate(upsertSeed(filter, kind), u, { query: filter, isInsert: true, variables }));
}
