/** find, getMore, killCursors, count, distinct and aggregate. */
import { Binary } from 'bson';
import { Context, aggregate as mingoAggregate, ProcessingMode } from 'mingo';
import { Aggregator } from 'mingo/aggregator';
import { type Iterator, Lazy } from 'mingo/lazy';
import { checkedStages, runtimeError } from '../bson/checked-expressions.ts';
import type { Collation } from '../bson/collation.ts';
import { MongoCommandError } from '../bson/errors.ts';
import { BSON_CONTEXT } from '../bson/match.ts';
import { compareBson } from '../bson/order.ts';
import { isChangeStream, openChangeStream } from '../query/change-streams.ts';
import { refuseUncollatedPipeline } from '../query/collated-ops.ts';
import type { CursorTail } from '../query/cursors.ts';
import { compileFilter, type PlanInfo, runQuery, sortDocuments } from '../query/execute.ts';
import { orderedStages } from '../query/field-order.ts';
import { hintedIndex, indexKeyDoc, keyFromPlan, scanHintedIndex, withRecordId } from '../query/find-options.ts';
import { checkFindSort, validatePipeline } from '../query/pipeline-validation.ts';
import { checkTailableFind, tailableSource } from '../query/tailable.ts';
import { findAsPipeline, isView, resolveView, viewNotCollection } from '../query/views.ts';
import { collStatsDocument } from '../storage/coll-stats.ts';
import type { Collection, Doc } from '../storage/engine.ts';
import { runWriteStage, takeWriteStage } from './aggregate-write.ts';
import { collectionName, existingCollection, intOption, letVariables, operationCollation, project } from './common.ts';
import type { CommandContext, CommandSpec } from './types.ts';

/** A `$sort` stage in BSON order (the same as find's sort), instead of mingo's JavaScript-type order. */
function bsonSortStage(coll: Iterator, spec: unknown, options: { collation?: unknown }): Iterator {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec))
    throw new MongoCommandError(15973, 'the $sort key specification must be an object');
  if (Object.keys(spec).length === 0) throw new MongoCommandError(15976, '$sort stage must have at least one sort key');
  const collation = options.collation as Collation | undefined;
  return coll.transform(((docs: Doc[]) => Lazy(sortDocuments(docs, spec as Doc, collation))) as never);
}

/** Aggregation operators: BSON-aware filters and accumulators, and `$sort` in BSON order (first context wins). */
const AGGREGATE_CONTEXT = Context.from(
  Context.init({ pipeline: { $sort: bsonSortStage as never, ...orderedStages, ...checkedStages } as never }),
  BSON_CONTEXT,
);

function optionalDoc(ctx: CommandContext, field: string): Doc | undefined {
  const v = ctx.cmd[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new MongoCommandError(
      14,
      `BSON field '${ctx.name}.${field}' is the wrong type '${Array.isArray(v) ? 'array' : typeof v}', expected type 'object'`,
    );
  }
  return v as Doc;
}

function batchSizeOf(ctx: CommandContext, cmd: Doc = ctx.cmd): number | undefined {
  const v = intOption(ctx, 'batchSize', cmd);
  if (v !== undefined && v < 0)
    throw new MongoCommandError(51024, `BSON field 'batchSize' value must be >= 0, actual value '${v}'`);
  return v;
}

function boolOption(ctx: CommandContext, field: string): boolean {
  const v = ctx.cmd[field];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean')
    throw new MongoCommandError(
      14,
      `BSON field '${ctx.name}.${field}' is the wrong type '${typeof v}', expected type 'bool'`,
    );
  return v;
}

/**
 * A non-simple collation together with a feature that would compare strings without it is
 * refused (115), never ignored: views, min/max bounds, returnKey, tailable cursors.
 */
function refuseCollatedWith(collation: Collation | undefined, feature: string | false | undefined): void {
  if (collation && feature)
    throw new MongoCommandError(
      115,
      `a collation with ${feature} is not supported by the embedded MongoDB server (see dev/mongo/README.md)`,
    );
}

/** find's result documents: filter, sort, skip, limit, projection, and the index-dependent options (find-options.ts). */
function findDocuments(
  ctx: CommandContext,
  coll: Collection | undefined,
  options: { filter: Doc; sort: Doc | undefined; skip: number | undefined; limit: number | undefined },
  collation: Collation | undefined,
): Doc[] {
  const returnKey = boolOption(ctx, 'returnKey');
  const showRecordId = boolOption(ctx, 'showRecordId');
  const min = optionalDoc(ctx, 'min');
  const max = optionalDoc(ctx, 'max');
  const projection = optionalDoc(ctx, 'projection');
  const variables = letVariables(ctx);
  const { filter } = options;
  refuseCollatedWith(
    collation,
    (coll && isView(coll) && 'a view') || ((min || max) && 'min/max') || (returnKey && 'returnKey'),
  );
  if (coll && isView(coll))
    return namespaceDocuments(ctx, coll, findAsPipeline(ctx.cmd), { hint: ctx.cmd.hint, variables });
  const index = coll && hintedIndex(coll, ctx.cmd.hint);
  if (coll && (min || max || (returnKey && index))) {
    // Validates the hint (a missing index is an error) before the min/max checks.
    runQuery(ctx.engine, coll, ctx.view, {}, { hint: ctx.cmd.hint, limit: 1 });
    const found = scanHintedIndex(ctx.engine, coll, ctx.view, index, { ...options, min, max, variables });
    if (returnKey) return found.map(({ key }) => indexKeyDoc(index, key));
    const stored = found.map(({ doc }) => doc);
    const projected = project(stored, projection, filter);
    return showRecordId ? projected.map((doc, i) => withRecordId(coll, stored[i] as Doc, doc)) : projected;
  }
  const plan: PlanInfo = { stage: 'COLLSCAN', examined: 0 };
  const stored = runQuery(
    ctx.engine,
    coll,
    ctx.view,
    filter,
    { ...options, hint: ctx.cmd.hint, variables, collation },
    plan,
  );
  if (returnKey && coll) {
    return stored.map((doc) => {
      const used = keyFromPlan(coll, plan, doc);
      return indexKeyDoc(used.index, used.key);
    });
  }
  const projected = project(stored, projection, filter, collation);
  if (!showRecordId || !coll) return projected;
  return projected.map((doc, i) => withRecordId(coll, stored[i] as Doc, doc));
}

/** The later-batch source of a tailable find (tailable.ts), or undefined. */
function tailOf(ctx: CommandContext, coll: Collection | undefined, filter: Doc): CursorTail | undefined {
  if (ctx.cmd.tailable !== true) return undefined;
  for (const option of ['returnKey', 'showRecordId', 'min', 'max', 'skip', 'limit'] as const) {
    if (ctx.cmd[option] !== undefined && ctx.cmd[option] !== false)
      throw new MongoCommandError(
        115,
        `a tailable find with '${option}' is not supported by the embedded MongoDB server`,
      );
  }
  const projection = optionalDoc(ctx, 'projection');
  const next = tailableSource(ctx.engine, coll, compileFilter(filter, letVariables(ctx)), (docs) =>
    project(docs, projection, filter),
  );
  return next && { next, awaitData: ctx.cmd.awaitData === true };
}

const find: CommandSpec = {
  allowedInTxn: true,
  snapshotReads: true,
  handler: (ctx) => {
    const collation = operationCollation(ctx);
    refuseCollatedWith(collation, ctx.cmd.tailable === true && 'a tailable cursor');
    const coll = existingCollection(ctx);
    const onView = coll !== undefined && isView(coll);
    if (!onView) checkTailableFind(ctx.cmd, coll);
    const filter = optionalDoc(ctx, 'filter') ?? {};
    const sort = optionalDoc(ctx, 'sort');
    checkFindSort(sort);
    const skip = intOption(ctx, 'skip');
    if (skip !== undefined && skip < 0)
      throw new MongoCommandError(51024, `BSON field 'skip' value must be >= 0, actual value '${skip}'`);
    let limit = intOption(ctx, 'limit');
    const singleBatch = ctx.cmd.singleBatch === true;
    if (limit !== undefined && limit < 0) {
      throw new MongoCommandError(51024, `BSON field 'limit' value must be >= 0, actual value '${limit}'`);
    }
    if (limit === 0) limit = undefined;
    const batchSize = batchSizeOf(ctx);
    const docs = findDocuments(ctx, coll, { filter, sort, skip, limit }, collation);
    const cursor = ctx.state.cursors.openCursor(`${ctx.db}.${collectionName(ctx)}`, docs, {
      batchSize,
      singleBatch,
      lsid: ctx.lsidKey,
      tail: onView ? undefined : tailOf(ctx, coll, filter),
    });
    return { cursor, ok: 1 };
  },
};

/** How long a getMore on an awaitData cursor waits for data without `maxTimeMS` (mongod: 1 s). */
const DEFAULT_AWAIT_MS = 1000;

const getMore: CommandSpec = {
  allowedInTxn: true,
  handler: async (ctx) => {
    const raw = ctx.cmd.getMore;
    const id = typeof raw === 'number' ? raw : Number(String(raw));
    const collection = ctx.cmd.collection;
    if (typeof collection !== 'string')
      throw new MongoCommandError(
        14,
        "BSON field 'getMore.collection' is missing or the wrong type, expected type 'string'",
      );
    const ns = `${ctx.db}.${collection}`;
    const mode = ctx.state.cursors.awaitMode(id);
    const maxTimeMS = intOption(ctx, 'maxTimeMS');
    if (maxTimeMS !== undefined && mode === false)
      throw new MongoCommandError(2, 'cannot set maxTimeMS on getMore command for a non-awaitData cursor');
    // An awaitData cursor's getMore waits (maxTimeMS, default 1 s) for data: a change stream's
    // source waits by itself, a tailable cursor on a capped collection is polled here.
    const awaitMs = maxTimeMS ?? DEFAULT_AWAIT_MS;
    const deadline = Date.now() + (mode === 'poll' ? awaitMs : 0);
    let result = await ctx.state.cursors.getMore(id, ns, batchSizeOf(ctx), awaitMs);
    while (mode === 'poll' && typeof result === 'object' && result.nextBatch?.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(20, deadline - Date.now())));
      result = await ctx.state.cursors.getMore(id, ns, batchSizeOf(ctx), awaitMs);
    }
    if (result === undefined) throw new MongoCommandError(43, `cursor id ${id} not found`);
    if (result === 'wrong-ns')
      throw new MongoCommandError(
        13,
        `Requested getMore on namespace '${ns}', but cursor belongs to a different namespace`,
      );
    return { cursor: result, ok: 1 };
  },
};

const killCursors: CommandSpec = {
  allowedInTxn: true,
  handler: (ctx) => {
    const ids = Array.isArray(ctx.cmd.cursors) ? ctx.cmd.cursors : [];
    const cursorsKilled: unknown[] = [];
    const cursorsNotFound: unknown[] = [];
    for (const raw of ids) {
      const id = typeof raw === 'number' ? raw : Number(String(raw));
      (ctx.state.cursors.kill(id) ? cursorsKilled : cursorsNotFound).push(raw);
    }
    return { cursorsKilled, cursorsNotFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
  },
};

/** count on a view, as the aggregation mongod runs for it. */
function viewCountStages(query: Doc, skip: number | undefined, limit: number | undefined): Doc[] {
  const stages: Doc[] = [{ $match: query }];
  if (skip) stages.push({ $skip: skip });
  if (limit) stages.push({ $limit: Math.abs(limit) });
  return stages;
}

const count: CommandSpec = {
  handler: (ctx) => {
    const collation = operationCollation(ctx);
    const coll = existingCollection(ctx);
    refuseCollatedWith(collation, isView(coll) && 'a view');
    const skip = intOption(ctx, 'skip');
    const limit = intOption(ctx, 'limit');
    const query = optionalDoc(ctx, 'query') ?? {};
    const docs = isView(coll)
      ? namespaceDocuments(ctx, coll, viewCountStages(query, skip, limit), { hint: ctx.cmd.hint })
      : runQuery(ctx.engine, coll, ctx.view, query, {
          hint: ctx.cmd.hint,
          skip,
          limit: limit === undefined ? undefined : Math.abs(limit),
          collation,
        });
    return { n: docs.length, ok: 1 };
  },
};

function collectValues(v: unknown, parts: string[], i: number, out: unknown[]): void {
  if (i === parts.length) {
    if (Array.isArray(v)) out.push(...v);
    else if (v !== undefined) out.push(v);
    return;
  }
  if (Array.isArray(v)) {
    for (const e of v) collectValues(e, parts, i, out);
    return;
  }
  if (typeof v === 'object' && v !== null) collectValues((v as Doc)[parts[i] as string], parts, i + 1, out);
}

/**
 * The distinct values in BSON order, as mongod returns them (from an ordered set): one per group
 * of equal values (1, 1.0 and Long(1); 'a' and 'A' under a strength-2 collation), the first seen.
 */
function distinctValues(values: unknown[], collation: Collation | undefined): unknown[] {
  // Intl has no collation keys to hash: a sorted array of representatives, binary searched.
  const cmp = (a: unknown, b: unknown): number => compareBson(a, b, collation?.compare);
  const reps: unknown[] = [];
  for (const v of values) {
    let lo = 0;
    let hi = reps.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cmp(reps[mid], v) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo < reps.length && cmp(reps[lo], v) === 0) continue;
    reps.splice(lo, 0, v);
  }
  return reps;
}

const distinct: CommandSpec = {
  allowedInTxn: true,
  snapshotReads: true,
  handler: (ctx) => {
    const collation = operationCollation(ctx);
    const key = ctx.cmd.key;
    if (typeof key !== 'string')
      throw new MongoCommandError(14, "BSON field 'distinct.key' is missing or the wrong type, expected type 'string'");
    const query = optionalDoc(ctx, 'query') ?? {};
    const coll = existingCollection(ctx);
    refuseCollatedWith(collation, isView(coll) && 'a view');
    const docs = isView(coll)
      ? namespaceDocuments(ctx, coll, [{ $match: query }])
      : runQuery(ctx.engine, coll, ctx.view, query, { collation });
    const parts = key.split('.');
    const values: unknown[] = [];
    for (const doc of docs) collectValues(doc, parts, 0, values);
    return { values: distinctValues(values, collation), ok: 1 };
  },
};

/** Stages that never modify their input documents, so stored objects can be passed without a copy. */
const NON_MUTATING_STAGES = new Set(['$match', '$sort', '$skip', '$limit', '$count', '$group', '$sortByCount']);

/** Runs aggregation stages with this server's operators (BSON-order `$sort`, BSON-aware filters); views resolve in `$lookup` & co. */
function runStages(ctx: CommandContext, input: Doc[], stages: Doc[], variables?: Doc, collation?: Collation): Doc[] {
  const safe = stages.every((s) => NON_MUTATING_STAGES.has(Object.keys(s)[0] ?? ''));
  try {
    return new Aggregator(stages, {
      processingMode: safe ? ProcessingMode.CLONE_OFF : ProcessingMode.CLONE_INPUT,
      ...(variables ? { variables } : {}),
      ...(collation ? { collation: collation as never } : {}),
      collectionResolver: (name: string) => namespaceDocuments(ctx, ctx.engine.getCollection(ctx.db, name)),
      context: AGGREGATE_CONTEXT,
    }).run(input) as Doc[];
  } catch (err) {
    if (err instanceof MongoCommandError) throw err; // ours (e.g. $sort 15974) keep their code
    throw runtimeError(err instanceof Error ? err.message : String(err));
  }
}

/**
 * The documents of a namespace after `stages`: a collection's (filtered by a leading `$match`
 * through the planner) or a view's pipeline output over its source.
 */
function namespaceDocuments(
  ctx: CommandContext,
  coll: Collection | undefined,
  stages: Doc[] = [],
  read: { hint?: unknown; variables?: Doc | undefined; collation?: Collation | undefined } = {},
): Doc[] {
  const first = stages[0];
  if (first && '$collStats' in first) {
    if (coll && isView(coll)) throw viewNotCollection(coll);
    const stats = collStatsDocument(coll, `${ctx.db}.${collectionName(ctx)}`, first.$collStats, ctx.state.address);
    return runStages(ctx, [stats], stages.slice(1), read.variables, read.collation);
  }
  if (coll && isView(coll)) {
    refuseCollatedWith(read.collation, 'a view');
    const view = resolveView(ctx.engine, coll);
    const source = runQuery(ctx.engine, view.source, ctx.view, {}, { hint: read.hint });
    return runStages(ctx, source, [...view.pipeline, ...stages], read.variables);
  }
  const match = first && typeof first.$match === 'object' ? (first.$match as Doc) : undefined;
  const docs = runQuery(ctx.engine, coll, ctx.view, match ?? {}, {
    hint: read.hint,
    variables: read.variables,
    collation: read.collation,
  });
  const rest = match ? stages.slice(1) : stages;
  return rest.length > 0 ? runStages(ctx, docs, rest, read.variables, read.collation) : docs;
}

const aggregate: CommandSpec = {
  allowedInTxn: true,
  snapshotReads: true,
  handler: async (ctx) => {
    const collation = operationCollation(ctx);
    if (ctx.cmd.explain !== undefined)
      throw new MongoCommandError(115, 'explain is not supported by the embedded MongoDB server');
    const pipeline = ctx.cmd.pipeline;
    if (!Array.isArray(pipeline))
      throw new MongoCommandError(14, "BSON field 'aggregate.pipeline' is the wrong type, expected type 'array'");
    if (typeof ctx.cmd.cursor !== 'object' || ctx.cmd.cursor === null) {
      throw new MongoCommandError(9, "The 'cursor' option is required, except for aggregate with the explain argument");
    }
    const stages = pipeline as Doc[];
    if (isChangeStream(stages)) {
      refuseCollatedWith(collation, 'a change stream');
      const { engine, cursors } = ctx.state;
      const batchSize = batchSizeOf(ctx, ctx.cmd.cursor as Doc);
      const request = { db: ctx.db, target: ctx.cmd.aggregate, inTransaction: ctx.txn !== undefined, batchSize };
      return openChangeStream({ ...request, lsidKey: ctx.lsidKey, engine, cursors }, ctx.state.changes, stages);
    }
    validatePipeline(stages, { inTransaction: ctx.txn !== undefined });
    if (collation) refuseUncollatedPipeline(stages);
    const dbLevel = ctx.cmd.aggregate === 1;
    for (const stage of stages) {
      const op = Object.keys(stage)[0] ?? '';
      if (op === '$changeStream')
        throw new MongoCommandError(40602, '$changeStream is only valid as the first stage in a pipeline.');
      if (op === '$search' || op === '$geoNear') {
        throw new MongoCommandError(115, `${op} is not supported by the embedded MongoDB server`);
      }
    }
    const { read: readStages, write } = takeWriteStage(ctx, stages);
    const first = readStages[0];
    const variables = letVariables(ctx);
    let results: Doc[];
    if (dbLevel) {
      results = runStages(ctx, dbLevelSource(ctx, first), readStages.slice(1), variables, collation);
    } else {
      if (first && ('$currentOp' in first || '$listLocalSessions' in first || '$documents' in first))
        throw new MongoCommandError(73, `${Object.keys(first)[0]} must be run against the database, not a collection`);
      results = namespaceDocuments(ctx, existingCollection(ctx), readStages, {
        hint: ctx.cmd.hint,
        variables,
        collation,
      });
    }
    const cursorOpts = ctx.cmd.cursor as Doc;
    const batchSize = batchSizeOf(ctx, cursorOpts);
    const ns = dbLevel ? `${ctx.db}.$cmd.aggregate` : `${ctx.db}.${collectionName(ctx)}`;
    if (write) await runWriteStage(ctx, write, results, variables); // then an empty, closed cursor
    const cursor = ctx.state.cursors.openCursor(ns, write ? [] : results, { batchSize, lsid: ctx.lsidKey });
    return { cursor, ok: 1 };
  },
};

/** The input of a database-level aggregation (`aggregate: 1`): `$documents`, `$listLocalSessions` or `$currentOp`. */
function dbLevelSource(ctx: CommandContext, first: Doc | undefined): Doc[] {
  const op = first ? (Object.keys(first)[0] ?? '') : '';
  const arg = first?.[op];
  switch (op) {
    case '$documents': {
      const [evaluated] = mingoAggregate([{}], [{ $project: { _id: 0, d: arg } }]) as Doc[];
      const docs = evaluated?.d;
      if (!Array.isArray(docs)) throw new MongoCommandError(2, 'error evaluating $documents: an array is expected');
      return docs as Doc[];
    }
    case '$listLocalSessions':
      return [...ctx.state.sessions.values()].map((s) => ({
        _id: { id: new Binary(Buffer.from(s.key, 'hex'), 4), uid: new Binary(Buffer.alloc(32), 0) },
        lastUse: new Date(s.lastUsed),
      }));
    case '$currentOp':
      if (ctx.db !== 'admin') throw new MongoCommandError(73, '$currentOp must be run against the admin database');
      return currentOperations(ctx);
    default:
      throw new MongoCommandError(73, `{aggregate: 1} is not valid for '${op}'; a collection is required.`);
  }
}

/** What `$currentOp` / `currentOp` list: the running command and the open transactions. */
export function currentOperations(ctx: CommandContext): Doc[] {
  const ops: Doc[] = [
    { type: 'op', active: true, op: 'command', ns: `${ctx.db}.$cmd`, command: ctx.cmd, connectionId: ctx.connectionId },
  ];
  for (const s of ctx.state.sessions.values()) {
    if (s.txn?.state !== 'active') continue;
    ops.push({
      type: 'idleSession',
      active: false,
      lsid: { id: new Binary(Buffer.from(s.key, 'hex'), 4) },
      transaction: {
        parameters: { txnNumber: s.txnNumber, autocommit: false },
        startWallClockTime: new Date(s.txn.startedAt).toISOString(),
      },
    });
  }
  return ops;
}

export const readCommands: Record<string, CommandSpec> = { find, getMore, killCursors, count, distinct, aggregate };
