/** find, getMore, killCursors, count, distinct and aggregate. */
import { Binary } from 'bson';
import { Context, aggregate as mingoAggregate, ProcessingMode } from 'mingo';
import { Aggregator } from 'mingo/aggregator';
import { type Iterator, Lazy } from 'mingo/lazy';
import { BSON_CONTEXT } from '../bson-match.ts';
import { keyString } from '../bson-order.ts';
import { isChangeStream, openChangeStream } from '../change-streams.ts';
import { MongoCommandError } from '../errors.ts';
import { runQuery, sortDocuments } from '../query.ts';
import type { Doc } from '../storage.ts';
import { collectionName, existingCollection, intOption, letVariables, project, rejectUnsupported } from './common.ts';
import type { CommandContext, CommandSpec } from './types.ts';

/** A `$sort` stage in BSON order (the same as find's sort), instead of mingo's JavaScript-type order. */
function bsonSortStage(coll: Iterator, spec: unknown): Iterator {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec))
    throw new MongoCommandError(15973, 'the $sort key specification must be an object');
  if (Object.keys(spec).length === 0) throw new MongoCommandError(15976, '$sort stage must have at least one sort key');
  return coll.transform(((docs: Doc[]) => Lazy(sortDocuments(docs, spec as Doc))) as never);
}

/** Aggregation operators: BSON-aware filters and accumulators, and `$sort` in BSON order (first context wins). */
const AGGREGATE_CONTEXT = Context.from(Context.init({ pipeline: { $sort: bsonSortStage as never } }), BSON_CONTEXT);

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

const find: CommandSpec = {
  allowedInTxn: true,
  snapshotReads: true,
  handler: (ctx) => {
    rejectUnsupported(ctx);
    if (ctx.cmd.tailable === true)
      throw new MongoCommandError(115, 'tailable cursors are not supported by the embedded MongoDB server');
    for (const option of ['returnKey', 'showRecordId', 'min', 'max'] as const) {
      if (ctx.cmd[option] !== undefined && ctx.cmd[option] !== false)
        throw new MongoCommandError(115, `find option '${option}' is not supported by the embedded MongoDB server`);
    }
    const coll = existingCollection(ctx);
    const filter = optionalDoc(ctx, 'filter') ?? {};
    const sort = optionalDoc(ctx, 'sort');
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
    const docs = project(
      runQuery(ctx.engine, coll, ctx.view, filter, {
        sort,
        skip,
        limit,
        hint: ctx.cmd.hint,
        variables: letVariables(ctx),
      }),
      optionalDoc(ctx, 'projection'),
      filter,
    );
    const cursor = ctx.state.cursors.openCursor(`${ctx.db}.${collectionName(ctx)}`, docs, {
      batchSize,
      singleBatch,
      lsid: ctx.lsidKey,
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
    const awaitMs = intOption(ctx, 'maxTimeMS') ?? DEFAULT_AWAIT_MS;
    const result = await ctx.state.cursors.getMore(id, ns, batchSizeOf(ctx), awaitMs);
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

const count: CommandSpec = {
  handler: (ctx) => {
    rejectUnsupported(ctx);
    const coll = existingCollection(ctx);
    const skip = intOption(ctx, 'skip');
    const limit = intOption(ctx, 'limit');
    const docs = runQuery(ctx.engine, coll, ctx.view, optionalDoc(ctx, 'query') ?? {}, {
      hint: ctx.cmd.hint,
      skip,
      limit: limit === undefined ? undefined : Math.abs(limit),
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

const distinct: CommandSpec = {
  allowedInTxn: true,
  snapshotReads: true,
  handler: (ctx) => {
    rejectUnsupported(ctx);
    const key = ctx.cmd.key;
    if (typeof key !== 'string')
      throw new MongoCommandError(14, "BSON field 'distinct.key' is missing or the wrong type, expected type 'string'");
    const docs = runQuery(ctx.engine, existingCollection(ctx), ctx.view, optionalDoc(ctx, 'query') ?? {});
    const seen = new Map<string, unknown>();
    const parts = key.split('.');
    for (const doc of docs) {
      const values: unknown[] = [];
      collectValues(doc, parts, 0, values);
      for (const v of values) {
        const k = keyString(v);
        if (!seen.has(k)) seen.set(k, v);
      }
    }
    return { values: [...seen.values()], ok: 1 };
  },
};

/** Stages that never modify their input documents, so stored objects can be passed without a copy. */
const NON_MUTATING_STAGES = new Set(['$match', '$sort', '$skip', '$limit', '$count', '$group', '$sortByCount']);

const aggregate: CommandSpec = {
  allowedInTxn: true,
  snapshotReads: true,
  handler: (ctx) => {
    rejectUnsupported(ctx);
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
      const { engine, cursors } = ctx.state;
      const batchSize = batchSizeOf(ctx, ctx.cmd.cursor as Doc);
      const request = { db: ctx.db, target: ctx.cmd.aggregate, inTransaction: ctx.txn !== undefined, batchSize };
      return openChangeStream({ ...request, lsidKey: ctx.lsidKey, engine, cursors }, ctx.state.changes, stages);
    }
    const dbLevel = ctx.cmd.aggregate === 1;
    for (const stage of stages) {
      const op = Object.keys(stage)[0] ?? '';
      if (op === '$changeStream')
        throw new MongoCommandError(40602, '$changeStream is only valid as the first stage in a pipeline.');
      if (op === '$out' || op === '$merge' || op === '$search' || op === '$geoNear') {
        throw new MongoCommandError(115, `${op} is not supported by the embedded MongoDB server`);
      }
    }
    const first = stages[0];
    const variables = letVariables(ctx);
    let input: Doc[];
    let rest: Doc[];
    if (dbLevel) {
      input = dbLevelSource(ctx, first);
      rest = stages.slice(1);
    } else {
      if (first && ('$currentOp' in first || '$listLocalSessions' in first || '$documents' in first))
        throw new MongoCommandError(73, `${Object.keys(first)[0]} must be run against the database, not a collection`);
      const leadingMatch =
        first && '$match' in first && typeof first.$match === 'object' ? (first.$match as Doc) : undefined;
      input = runQuery(ctx.engine, existingCollection(ctx), ctx.view, leadingMatch ?? {}, {
        hint: ctx.cmd.hint,
        variables,
      });
      rest = leadingMatch ? stages.slice(1) : stages;
    }
    const safe = rest.every((s) => NON_MUTATING_STAGES.has(Object.keys(s)[0] ?? ''));
    let results: Doc[];
    try {
      results = new Aggregator(rest, {
        processingMode: safe ? ProcessingMode.CLONE_OFF : ProcessingMode.CLONE_INPUT,
        ...(variables ? { variables } : {}),
        collectionResolver: (name: string) =>
          runQuery(ctx.engine, ctx.engine.getCollection(ctx.db, name), ctx.view, {}),
        context: AGGREGATE_CONTEXT,
      }).run(input) as Doc[];
    } catch (err) {
      if (err instanceof MongoCommandError) throw err; // ours (e.g. $sort 15974) keep their code
      throw new MongoCommandError(2, err instanceof Error ? err.message : String(err));
    }
    const cursorOpts = ctx.cmd.cursor as Doc;
    const batchSize = batchSizeOf(ctx, cursorOpts);
    const ns = dbLevel ? `${ctx.db}.$cmd.aggregate` : `${ctx.db}.${collectionName(ctx)}`;
    const cursor = ctx.state.cursors.openCursor(ns, results, { batchSize, lsid: ctx.lsidKey });
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
