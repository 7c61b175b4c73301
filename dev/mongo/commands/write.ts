/** insert, update, delete and findAndModify. */

import { withIdFirst } from '../bson/documents.ts';
import { isWriteError, MongoCommandError } from '../bson/errors.ts';
import { MAX_WRITE_BATCH_SIZE } from '../bson/limits.ts';
import { bsonTypeName, keyString } from '../bson/order.ts';
import { refuseUncollatedProjection, refuseUncollatedUpdate } from '../query/collated-ops.ts';
import { compileFilter, runQuery } from '../query/execute.ts';
import { applyUpdate, updateKind, upsertSeed } from '../query/update.ts';
import { validateArrayFilters } from '../query/update-validation.ts';
import type { Collection, Doc } from '../storage/engine.ts';
import {
  bypassValidation,
  checkId,
  checkSize,
  collectionForWrite,
  collectionName,
  intOption,
  letVariables,
  operationCollation,
  project,
  retryOnLock,
  sameBson,
} from './common.ts';
import type { CommandContext, CommandSpec } from './types.ts';
import { rejectWriteTo } from './write-rules.ts';

function opsArray(ctx: CommandContext, field: string): Doc[] {
  const ops = ctx.cmd[field];
  if (!Array.isArray(ops))
    throw new MongoCommandError(14, `BSON field '${ctx.name}.${field}' is the wrong type, expected type 'array'`);
  if (ops.length === 0)
    throw new MongoCommandError(
      2,
      `Write batch sizes must be between 1 and ${MAX_WRITE_BATCH_SIZE}. Got 0 operations.`,
    );
  if (ops.length > MAX_WRITE_BATCH_SIZE) {
    throw new MongoCommandError(
      2,
      `Write batch sizes must be between 1 and ${MAX_WRITE_BATCH_SIZE}. Got ${ops.length} operations.`,
    );
  }
  return ops as Doc[];
}

/** Runs each write op, collecting per-op write errors like mongod (stopping at the first when ordered). */
async function eachOp(ctx: CommandContext, ops: Doc[], run: (op: Doc, index: number) => Promise<void>): Promise<Doc[]> {
  const ordered = ctx.cmd.ordered !== false;
  const writeErrors: Doc[] = [];
  for (let i = 0; i < ops.length; i++) {
    try {
      await run(ops[i] as Doc, i);
    } catch (err) {
      if (!isWriteError(err)) throw err;
      writeErrors.push({ index: i, code: err.code, errmsg: err.message, ...err.extra });
      if (ordered || ctx.txn) break;
    }
  }
  return writeErrors;
}

function withErrors(reply: Doc, writeErrors: Doc[]): Doc {
  if (writeErrors.length > 0) reply.writeErrors = writeErrors;
  reply.ok = 1;
  return reply;
}

const insert: CommandSpec = {
  allowedInTxn: true,
  retryableWrite: true,
  handler: async (ctx) => {
    const docs = opsArray(ctx, 'documents');
    const bypass = bypassValidation(ctx);
    const coll = await collectionForWrite(ctx);
    let n = 0;
    const writeErrors = await eachOp(ctx, docs, async (raw) => {
      const doc = withIdFirst(raw);
      checkId(doc._id);
      checkSize(doc);
      const id = keyString(doc._id);
      await retryOnLock(ctx, () => ctx.engine.writeDoc(coll, id, doc, ctx.view, 'insert', bypass));
      n++;
    });
    return withErrors({ n }, writeErrors);
  },
};

/**
 * An update statement's `c` (bulkWrite's `constants`): `$$` variables of a pipeline update, beside the
 * command's `let`. mongod takes them only with a pipeline (51198).
 */
function withConstants(variables: Doc | undefined, constants: unknown, kind: string): Doc | undefined {
  if (constants === undefined) return variables;
  if (typeof constants !== 'object' || constants === null || Array.isArray(constants))
    throw new MongoCommandError(
      14,
      `BSON field 'update.updates.c' is the wrong type '${bsonTypeName(constants)}', expected type 'object'`,
    );
  if (kind !== 'pipeline')
    throw new MongoCommandError(51198, 'Constant values may only be specified for pipeline updates');
  return { ...variables, ...(constants as Doc) };
}

/** Applies one update statement; returns counts and the upserted id if any. */
async function updateStatement(
  ctx: CommandContext,
  coll: Collection,
  op: Doc,
  bypass: boolean,
): Promise<{ matched: number; modified: number; upserted?: unknown }> {
  const collation = operationCollation(ctx, op);
  if (collation) refuseUncollatedUpdate(op.u, op.arrayFilters);
  const q = (op.q ?? {}) as Doc;
  const variables = letVariables(ctx);
  const query = compileFilter(q, variables, collation);
  const kind = updateKind(op.u);
  const updateVariables = withConstants(variables, op.c, kind);
  const multi = op.multi === true;
  if (multi && kind === 'replacement')
    throw new MongoCommandError(9, 'multi update is not supported for replacement-style update');
  validateArrayFilters(op.u, kind, op.arrayFilters);
  const arrayFilters = Array.isArray(op.arrayFilters) ? (op.arrayFilters as Doc[]) : undefined;
  const targets = runQuery(ctx.engine, coll, ctx.view, q, {
    limit: multi ? undefined : 1,
    // 8.0's updateOne/replaceOne sort: which of the matches is the one updated.
    sort: multi ? undefined : (op.sort as Doc | undefined),
    hint: op.hint,
    variables,
    collation,
    compiled: query,
  });
  let matched = 0;
  let modified = 0;
  for (const target of targets) {
    const id = keyString(target._id);
    const outcome = await retryOnLock(ctx, () => {
      const current = ctx.engine.visible(coll, id, ctx.view);
      if (!current || !query.test(current)) return 'gone';
      const next = applyUpdate(current, op.u, {
        arrayFilters,
        query: q,
        isInsert: false,
        variables: updateVariables,
        kind,
      });
      if (sameBson(current, next)) return 'unchanged';
      checkSize(next);
      ctx.engine.writeDoc(coll, id, next, ctx.view, kind === 'replacement' ? 'replace' : 'update', bypass);
      return 'modified';
    });
    if (outcome === 'gone') continue;
    matched++;
    if (outcome === 'modified') modified++;
  }
  if (matched === 0 && op.upsert === true) {
    const seed = upsertSeed(q, kind);
    const doc = withIdFirst(
      applyUpdate(seed, op.u, { arrayFilters, query: q, isInsert: true, variables: updateVariables, kind }),
    );
    checkId(doc._id);
    checkSize(doc);
    await retryOnLock(ctx, () => ctx.engine.writeDoc(coll, keyString(doc._id), doc, ctx.view, 'insert', bypass));
    return { matched: 0, modified: 0, upserted: doc._id };
  }
  return { matched, modified };
}

/** The fields of an update statement in MongoDB 8.0 (its parser is strict; 7.0's lacks `sort`, refused before). */
const UPDATE_STATEMENT_FIELDS = new Set([
  'q',
  'sort',
  'u',
  'c',
  'arrayFilters',
  'multi',
  'upsert',
  'upsertSupplied',
  'hint',
  'collation',
]);

/** An update statement's fields, typed as mongod's parser wants them: the whole command fails otherwise. */
function checkUpdateStatement(op: Doc): void {
  if (typeof op !== 'object' || op === null || Array.isArray(op))
    throw new MongoCommandError(14, "BSON field 'update.updates' is the wrong type, expected type 'object'");
  for (const key of Object.keys(op)) {
    if (!UPDATE_STATEMENT_FIELDS.has(key))
      throw new MongoCommandError(40415, `BSON field 'update.updates.${key}' is an unknown field.`);
  }
  for (const key of ['multi', 'upsert'] as const) {
    const v = op[key];
    if (v !== undefined && typeof v !== 'boolean')
      throw new MongoCommandError(
        14,
        `BSON field 'update.updates.${key}' is the wrong type '${bsonTypeName(v)}', expected type 'bool'`,
      );
  }
  if (op.q === undefined)
    throw new MongoCommandError(40414, "BSON field 'update.updates.q' is missing but a required field");
  if (op.u === undefined)
    throw new MongoCommandError(40414, "BSON field 'update.updates.u' is missing but a required field");
  if (op.sort !== undefined) {
    if (typeof op.sort !== 'object' || op.sort === null || Array.isArray(op.sort))
      throw new MongoCommandError(
        14,
        `BSON field 'update.updates.sort' is the wrong type '${bsonTypeName(op.sort)}', expected type 'object'`,
      );
    if (op.multi === true) throw new MongoCommandError(9, 'Cannot specify sort with multi=true');
  }
}

const update: CommandSpec = {
  allowedInTxn: true,
  retryableWrite: true,
  handler: async (ctx) => {
    const ops = opsArray(ctx, 'updates');
    // MongoDB 7.0 has no `sort` in update statements (8.0 added it): the whole command fails to parse.
    if (!ctx.state.version.updateSort && ops.some((op) => op.sort !== undefined))
      throw new MongoCommandError(40415, "BSON field 'update.updates.sort' is an unknown field.");
    for (const op of ops) checkUpdateStatement(op);
    const bypass = bypassValidation(ctx);
    const coll = await collectionForWrite(ctx);
    let n = 0;
    let nModified = 0;
    const upserted: Doc[] = [];
    const writeErrors = await eachOp(ctx, ops, async (op, index) => {
      const r = await updateStatement(ctx, coll, op, bypass);
      if (r.upserted !== undefined) {
        upserted.push({ index, _id: r.upserted });
        n++;
      } else {
        n += r.matched;
        nModified += r.modified;
      }
    });
    const reply: Doc = { n, nModified };
    if (upserted.length > 0) reply.upserted = upserted;
    return withErrors(reply, writeErrors);
  },
};

const del: CommandSpec = {
  allowedInTxn: true,
  retryableWrite: true,
  handler: async (ctx) => {
    const ops = opsArray(ctx, 'deletes');
    const coll = ctx.engine.getCollection(ctx.db, collectionName(ctx));
    rejectWriteTo(coll, ctx.txn !== undefined);
    let n = 0;
    const writeErrors = await eachOp(ctx, ops, async (op) => {
      const collation = operationCollation(ctx, op);
      const limit = intOption(ctx, 'limit', op);
      if (limit !== 0 && limit !== 1)
        throw new MongoCommandError(9, `The limit field in delete objects must be 0 or 1. Got ${String(op.limit)}`);
      if (!coll) return;
      const q = (op.q ?? {}) as Doc;
      const variables = letVariables(ctx);
      const query = compileFilter(q, variables, collation);
      const targets = runQuery(ctx.engine, coll, ctx.view, q, {
        limit: limit === 1 ? 1 : undefined,
        hint: op.hint,
        variables,
        collation,
        compiled: query,
      });
      for (const target of targets) {
        const id = keyString(target._id);
        const deleted = await retryOnLock(ctx, () => {
          const current = ctx.engine.visible(coll, id, ctx.view);
          if (!current || !query.test(current)) return false;
          ctx.engine.writeDoc(coll, id, null, ctx.view, 'delete');
          return true;
        });
        if (deleted) n++;
      }
    });
    return withErrors({ n }, writeErrors);
  },
};

/** A findAndModify flag: mongod takes a bool or any number (non-zero is true), and refuses other types (14). */
function safeBool(cmd: Doc, field: string): boolean {
  const v = cmd[field];
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || bsonTypeName(v) === 'long' || bsonTypeName(v) === 'decimal')
    return Number(String(v)) !== 0;
  throw new MongoCommandError(
    14,
    `BSON field 'findAndModify.${field}' is the wrong type '${bsonTypeName(v)}', expected types '[bool, long, int, decimal, double]'`,
  );
}

const findAndModify: CommandSpec = {
  allowedInTxn: true,
  retryableWrite: true,
  handler: async (ctx) => {
    const collation = operationCollation(ctx);
    const { cmd } = ctx;
    const remove = safeBool(cmd, 'remove');
    const returnNew = safeBool(cmd, 'new');
    const upsert = safeBool(cmd, 'upsert');
    const bypass = bypassValidation(ctx);
    if (remove && cmd.update !== undefined)
      throw new MongoCommandError(9, 'Cannot specify both an update and remove=true');
    if (!remove && cmd.update === undefined)
      throw new MongoCommandError(9, 'Either an update or remove=true must be specified');
    if (remove && (upsert || returnNew))
      throw new MongoCommandError(9, 'Cannot specify both upsert=true and remove=true or new=true and remove=true');
    const name = collectionName(ctx);
    const coll = remove ? ctx.engine.getCollection(ctx.db, name) : await collectionForWrite(ctx, name);
    if (collation) {
      // Checked before anything is written.
      if (!remove) refuseUncollatedUpdate(cmd.update, cmd.arrayFilters);
      refuseUncollatedProjection(cmd.fields);
    }
    rejectWriteTo(coll, ctx.txn !== undefined);
    const q = (cmd.query ?? {}) as Doc;
    const variables = letVariables(ctx);
    const query = compileFilter(q, variables, collation);
    const arrayFilters = Array.isArray(cmd.arrayFilters) ? (cmd.arrayFilters as Doc[]) : undefined;
    const out = (doc: Doc | null): Doc | null => (doc ? (project([doc], cmd.fields, q, collation)[0] ?? null) : null);
    const kind = remove ? 'replacement' : updateKind(cmd.update);
    if (!remove) validateArrayFilters(cmd.update, kind, cmd.arrayFilters);

    const result = await retryOnLock(ctx, () => {
      const target = coll
        ? runQuery(ctx.engine, coll, ctx.view, q, {
            sort: cmd.sort as Doc | undefined,
            limit: 1,
            hint: cmd.hint,
            variables,
            collation,
            compiled: query,
          })[0]
        : undefined;
      if (target && coll) {
        const id = keyString(target._id);
        if (!query.test(target)) return { lastErrorObject: { n: 0 }, value: null };
        if (remove) {
          ctx.engine.writeDoc(coll, id, null, ctx.view, 'delete');
          return { lastErrorObject: { n: 1 }, value: out(target) };
        }
        const next = applyUpdate(target, cmd.update, { arrayFilters, query: q, isInsert: false, variables });
        if (!sameBson(target, next)) {
          checkSize(next);
          ctx.engine.writeDoc(coll, id, next, ctx.view, kind === 'replacement' ? 'replace' : 'update', bypass);
        }
        return { lastErrorObject: { n: 1, updatedExisting: true }, value: out(returnNew ? next : target) };
      }
      if (remove || !coll) return { lastErrorObject: { n: 0 }, value: null };
      if (!upsert) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null };
      const doc = withIdFirst(
        applyUpdate(upsertSeed(q, kind), cmd.update, { arrayFilters, query: q, isInsert: true, variables }),
      );
      checkId(doc._id);
      checkSize(doc);
      ctx.engine.writeDoc(coll, keyString(doc._id), doc, ctx.view, 'insert', bypass);
      return {
        lastErrorObject: { n: 1, updatedExisting: false, upserted: doc._id },
        value: returnNew ? out(doc) : null,
      };
    });
    return { ...result, ok: 1 };
  },
};

export const writeCommands: Record<string, CommandSpec> = {
  insert,
  update,
  delete: del,
  findAndModify,
  findandmodify: findAndModify,
};
