/**
 * What mongosh's helpers ask for: `explain` (find), `dbStats`, `collStats`, `currentOp` and
 * `replSetGetStatus`. Sizes are estimates (BSON size of the latest versions): there is no disk format.
 */

import { parseCollation } from '../bson/collation.ts';
import { MongoCommandError } from '../bson/errors.ts';
import { type PlanInfo, runQuery } from '../query/execute.ts';
import { isView, rejectView } from '../query/views.ts';
import { collectionSizes, storageStats } from '../storage/coll-stats.ts';
import type { Doc } from '../storage/engine.ts';
import { checkCollectionName } from '../storage/engine.ts';
import { listable } from './common.ts';
import { currentOperations } from './read.ts';
import type { CommandSpec } from './types.ts';

const dbStats: CommandSpec = {
  handler: (ctx) => {
    const colls = [...(ctx.engine.dbs.get(ctx.db)?.values() ?? [])].filter((c) => listable(ctx, c));
    let objects = 0;
    let dataSize = 0;
    let indexes = 0;
    for (const c of colls) {
      const s = collectionSizes(c);
      objects += s.count;
      dataSize += s.size;
      indexes += c.indexes.size;
    }
    return {
      db: ctx.db,
      collections: colls.filter((c) => !isView(c)).length,
      views: colls.filter(isView).length,
      objects,
      avgObjSize: objects ? dataSize / objects : 0,
      dataSize,
      storageSize: dataSize,
      indexes,
      indexSize: 0,
      totalSize: dataSize,
      scaleFactor: 1,
      ok: 1,
    };
  },
};

const collStats: CommandSpec = {
  handler: (ctx) => {
    // The name under which the command was sent: `collStats` or its alias `collstats`.
    const name = ctx.cmd[ctx.name] as string;
    checkCollectionName(ctx.db, name);
    const coll = ctx.engine.getCollection(ctx.db, name);
    if (!coll || !listable(ctx, coll)) throw new MongoCommandError(26, `Collection [${ctx.db}.${name}] not found.`);
    rejectView(coll);
    return { ns: coll.ns, ...storageStats(coll), ok: 1 };
  },
};

/** `explain` of a `find`: the plan the planner chose and, from executionStats on, what it read. */
const explain: CommandSpec = {
  handler: (ctx) => {
    const inner = ctx.cmd.explain;
    if (typeof inner !== 'object' || inner === null || Array.isArray(inner))
      throw new MongoCommandError(14, "BSON field 'explain.explain' is the wrong type, expected type 'object'");
    const verbosity = ctx.cmd.verbosity ?? 'allPlansExecution';
    const cmd = inner as Doc;
    if (Object.keys(cmd)[0] !== 'find')
      throw new MongoCommandError(
        115,
        `explain of ${Object.keys(cmd)[0]} is not supported by the embedded MongoDB server (find only)`,
      );
    const name = cmd.find;
    checkCollectionName(ctx.db, name);
    const coll = ctx.engine.getCollection(ctx.db, name);
    if (isView(coll))
      throw new MongoCommandError(115, 'explain of a find on a view is not supported by the embedded MongoDB server');
    const plan: PlanInfo = { stage: 'COLLSCAN', examined: 0 };
    const docs = runQuery(
      ctx.engine,
      coll,
      ctx.view,
      (cmd.filter ?? {}) as Doc,
      {
        sort: cmd.sort as Doc | undefined,
        skip: typeof cmd.skip === 'number' ? cmd.skip : undefined,
        limit: typeof cmd.limit === 'number' ? cmd.limit : undefined,
        hint: cmd.hint,
        collation: parseCollation(cmd.collation, 'find.collation'),
      },
      plan,
    );
    const scan: Doc =
      plan.stage === 'IXSCAN'
        ? { stage: 'FETCH', inputStage: { stage: 'IXSCAN', indexName: plan.index, direction: 'forward' } }
        : { stage: plan.stage };
    const winningPlan =
      cmd.sort && !plan.sortedByIndex ? { stage: 'SORT', sortPattern: cmd.sort, inputStage: scan } : scan;
    const reply: Doc = {
      explainVersion: '1',
      queryPlanner: {
        namespace: `${ctx.db}.${name}`,
        parsedQuery: cmd.filter ?? {},
        winningPlan,
        rejectedPlans: [],
      },
      command: { ...cmd, $db: ctx.db },
      serverInfo: { host: ctx.state.address, version: ctx.state.version.version },
      ok: 1,
    };
    if (verbosity !== 'queryPlanner') {
      reply.executionStats = {
        executionSuccess: true,
        nReturned: docs.length,
        totalKeysExamined: plan.stage === 'IXSCAN' ? plan.examined : 0,
        totalDocsExamined: plan.examined,
      };
    }
    return reply;
  },
};

const currentOp: CommandSpec = {
  adminOnly: true,
  handler: (ctx) => ({ inprog: currentOperations(ctx), ok: 1 }),
};

const replSetGetStatus: CommandSpec = {
  adminOnly: true,
  handler: (ctx) => {
    const now = new Date();
    return {
      set: ctx.state.setName,
      date: now,
      myState: 1,
      term: 1,
      members: [
        {
          _id: 0,
          name: ctx.state.address,
          health: 1,
          state: 1,
          stateStr: 'PRIMARY',
          uptime: Math.floor((Date.now() - ctx.state.startedAt) / 1000),
          electionId: ctx.state.electionId,
          self: true,
        },
      ],
      ok: 1,
    };
  },
};

/** Diagnostic commands, by name. */
export const statsCommands: Record<string, CommandSpec> = {
  dbStats,
  dbstats: dbStats,
  collStats,
  collstats: collStats,
  explain,
  currentOp,
  replSetGetStatus,
};
