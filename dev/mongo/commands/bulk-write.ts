/**
 * MongoDB 8.0's `bulkWrite` admin command (the driver's `client.bulkWrite`): one command whose `ops`
 * insert, update and delete in any of the namespaces listed in `nsInfo`, answered with one result per
 * operation through a cursor on `admin.$cmd.bulkWrite` and the totals beside it.
 *
 * Each operation runs through the `insert`, `update` or `delete` command's own handler (write.ts) as a
 * one-statement command on its namespace, so validation, document validation, upserts, collation,
 * `let`, hints and locking are those commands' own; this module only parses the envelope (as mongod's
 * IDL does: a malformed op fails the whole command before anything is written) and turns each
 * statement's reply into the per-operation result. Inside a transaction the statements share it; as a
 * retryable write the dispatcher replays the first outcome of a resent txnNumber (dispatch.ts).
 */
import { MongoCommandError } from '../bson/errors.ts';
import { MAX_WRITE_BATCH_SIZE } from '../bson/limits.ts';
import { bsonTypeName } from '../bson/order.ts';
import type { Doc } from '../storage/engine.ts';
import { bypassValidation, letVariables } from './common.ts';
import type { CommandContext, CommandSpec, SessionState } from './types.ts';
import { writeCommands } from './write.ts';

/** The cursor namespace mongod reports for bulkWrite results. */
export const BULK_WRITE_CURSOR_NS = 'admin.$cmd.bulkWrite';

type OpKind = 'insert' | 'update' | 'delete';

/** The fields of each op kind in 8.0's IDL (bulk_write.idl); any other field fails the command (40415). */
const OP_FIELDS: Record<OpKind, ReadonlySet<string>> = {
  insert: new Set(['insert', 'document']),
  update: new Set([
    'update',
    'filter',
    'multi',
    'updateMods',
    'upsert',
    'upsertSupplied',
    'arrayFilters',
    'hint',
    'collation',
    'constants',
    'sort',
    'sampleId',
  ]),
  delete: new Set(['delete', 'filter', 'multi', 'hint', 'collation', 'sampleId']),
};

/** A parsed op: its kind, the namespace it writes and the op document itself. */
interface BulkOp {
  kind: OpKind;
  db: string;
  coll: string;
  op: Doc;
}

const isObject = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);

function wrongType(field: string, v: unknown, expected: string): MongoCommandError {
  return new MongoCommandError(
    14,
    `BSON field '${field}' is the wrong type '${bsonTypeName(v)}', expected ${expected}`,
  );
}

/** An op as mongod renders it in "has an invalid nsInfo index" (relaxed extended JSON). */
function renderOp(op: Doc): string {
  try {
    return JSON.stringify(op);
  } catch {
    return '{...}';
  }
}

/** `nsInfo`: an array of `{ ns: "db.coll" }`, each a valid namespace (73 InvalidNamespace otherwise). */
function parseNsInfo(cmd: Doc): { db: string; coll: string }[] {
  const nsInfo = cmd.nsInfo;
  if (nsInfo === undefined)
    throw new MongoCommandError(40414, "BSON field 'bulkWrite.nsInfo' is missing but a required field");
  if (!Array.isArray(nsInfo)) throw wrongType('bulkWrite.nsInfo', nsInfo, "type 'array'");
  return nsInfo.map((entry: unknown) => {
    if (!isObject(entry)) throw wrongType('bulkWrite.nsInfo', entry, "type 'object'");
    if (entry.ns === undefined)
      throw new MongoCommandError(40414, "BSON field 'bulkWrite.nsInfo.ns' is missing but a required field");
    if (typeof entry.ns !== 'string') throw wrongType('bulkWrite.nsInfo.ns', entry.ns, "type 'string'");
    const dot = entry.ns.indexOf('.');
    const db = dot > 0 ? entry.ns.slice(0, dot) : '';
    const coll = dot > 0 ? entry.ns.slice(dot + 1) : '';
    if (db === '' || coll === '' || /[/\\. "$\0]/.test(db))
      throw new MongoCommandError(73, `Invalid namespace specified for bulkWrite: '${entry.ns}'`);
    return { db, coll };
  });
}

/** One op, parsed like mongod's IDL: exactly one kind field (a namespace index), known fields, typed flags. */
function parseOp(raw: unknown, namespaces: { db: string; coll: string }[]): BulkOp {
  if (!isObject(raw)) throw wrongType('bulkWrite.ops', raw, "type 'object'");
  const kinds = (Object.keys(OP_FIELDS) as OpKind[]).filter((k) => raw[k] !== undefined);
  if (kinds.length !== 1)
    throw new MongoCommandError(
      kinds.length === 0 ? 40414 : 2,
      kinds.length === 0
        ? `BulkWrite ops entry ${renderOp(raw)} does not have an insert, update or delete field`
        : `BulkWrite ops entry ${renderOp(raw)} has more than one of insert, update and delete`,
    );
  const kind = kinds[0] as OpKind;
  for (const key of Object.keys(raw)) {
    if (!OP_FIELDS[kind].has(key))
      throw new MongoCommandError(40415, `BSON field 'bulkWrite.ops.${key}' is an unknown field.`);
  }
  const index = raw[kind];
  if (typeof index !== 'number' || !Number.isFinite(index))
    throw wrongType(`bulkWrite.ops.${kind}`, index, "types '[long, int, decimal, double]'");
  if (index < 0) throw new MongoCommandError(2, `BSON field '${kind}' value must be >= 0, actual value '${index}'`);
  for (const flag of ['multi', 'upsert', 'upsertSupplied'] as const) {
    if (raw[flag] !== undefined && typeof raw[flag] !== 'boolean')
      throw wrongType(`bulkWrite.ops.${flag}`, raw[flag], "type 'bool'");
  }
  const required = kind === 'insert' ? ['document'] : kind === 'update' ? ['filter', 'updateMods'] : ['filter'];
  for (const field of required) {
    if (raw[field] === undefined)
      throw new MongoCommandError(40414, `BSON field 'bulkWrite.ops.${field}' is missing but a required field`);
  }
  if (kind === 'insert' && !isObject(raw.document))
    throw wrongType('bulkWrite.ops.document', raw.document, "type 'object'");
  if (!isObject(raw.filter ?? {})) throw wrongType('bulkWrite.ops.filter', raw.filter, "type 'object'");
  const target = namespaces[Math.trunc(index)];
  if (!target) throw new MongoCommandError(2, `BulkWrite ops entry ${renderOp(raw)} has an invalid nsInfo index.`);
  return { kind, ...target, op: raw };
}

/** The one-statement insert/update/delete command an op runs as (the fields the write handlers read). */
function statementCommand(bulk: BulkOp, cmd: Doc): Doc {
  const shared: Doc = { $db: bulk.db, ordered: true };
  if (cmd.bypassDocumentValidation !== undefined) shared.bypassDocumentValidation = cmd.bypassDocumentValidation;
  if (cmd.let !== undefined) shared.let = cmd.let;
  const { op } = bulk;
  if (bulk.kind === 'insert') return { insert: bulk.coll, documents: [op.document], ...shared };
  if (bulk.kind === 'update') {
    const statement: Doc = { q: op.filter, u: op.updateMods, multi: op.multi === true, upsert: op.upsert === true };
    for (const [from, to] of [
      ['arrayFilters', 'arrayFilters'],
      ['hint', 'hint'],
      ['collation', 'collation'],
      ['constants', 'c'],
      ['sort', 'sort'],
    ] as const) {
      if (op[from] !== undefined) statement[to] = op[from];
    }
    return { update: bulk.coll, updates: [statement], ...shared };
  }
  const statement: Doc = { q: op.filter, limit: op.multi === true ? 0 : 1 };
  if (op.hint !== undefined) statement.hint = op.hint;
  if (op.collation !== undefined) statement.collation = op.collation;
  return { delete: bulk.coll, deletes: [statement], ...shared };
}

/** Errors that end the whole command (and a transaction) rather than one op: conflicts, aborted transactions, timeouts. */
const COMMAND_LEVEL_CODES = new Set([112, 251, 50]);

/** An op's error as a result entry (`ok: 0` with its index, code and mongod's extra fields). */
function errorEntry(idx: number, kind: OpKind, error: Doc): Doc {
  const { index: _, ...rest } = error;
  const code = rest.code as number;
  const entry: Doc = {
    ok: 0,
    idx,
    code,
    codeName: (rest.codeName as string | undefined) ?? new MongoCommandError(code, '').codeName,
    errmsg: rest.errmsg,
    ...rest,
    n: 0,
  };
  if (kind === 'update') entry.nModified = 0;
  return entry;
}

/** The totals beside the cursor. */
interface Totals {
  nErrors: number;
  nInserted: number;
  nDeleted: number;
  nMatched: number;
  nModified: number;
  nUpserted: number;
}

/** Adds an op's result entry to the totals. */
function count(totals: Totals, kind: OpKind, entry: Doc): void {
  if (entry.ok !== 1) {
    totals.nErrors++;
    return;
  }
  const n = entry.n as number;
  if (kind === 'insert') totals.nInserted += n;
  else if (kind === 'delete') totals.nDeleted += n;
  else {
    totals.nModified += entry.nModified as number;
    if (entry.upserted) totals.nUpserted++;
    else totals.nMatched += n;
  }
}

/**
 * The ops of a retryable bulkWrite that committed, by session: mongod remembers them by statement id,
 * so a resend of the same txnNumber after some ops failed runs only the others and answers the
 * committed ones from memory (never twice). A fully successful outcome is replayed by the dispatcher.
 */
const committedOps = new WeakMap<SessionState, { txnNumber: number; entries: Map<number, Doc> }>();

/** Runs one op through its write command's handler and returns its result entry. */
async function runOp(ctx: CommandContext, bulk: BulkOp, idx: number): Promise<Doc> {
  const cmd = statementCommand(bulk, ctx.cmd);
  const spec = writeCommands[bulk.kind] as CommandSpec;
  let reply: Doc;
  try {
    reply = await spec.handler({ ...ctx, db: bulk.db, name: bulk.kind, cmd });
  } catch (err) {
    // A refusal of the statement before it ran (a system collection, a view…) is that op's error.
    if (!(err instanceof MongoCommandError) || COMMAND_LEVEL_CODES.has(err.code)) throw err;
    return errorEntry(idx, bulk.kind, { code: err.code, codeName: err.codeName, errmsg: err.message, ...err.extra });
  }
  const writeError = (reply.writeErrors as Doc[] | undefined)?.[0];
  if (writeError) return errorEntry(idx, bulk.kind, writeError);
  const n = (reply.n as number | undefined) ?? 0;
  if (bulk.kind !== 'update') return { ok: 1, idx, n };
  const entry: Doc = { ok: 1, idx, n, nModified: (reply.nModified as number | undefined) ?? 0 };
  const upserted = (reply.upserted as Doc[] | undefined)?.[0];
  if (upserted) entry.upserted = { _id: upserted._id };
  return entry;
}

/** `cursor: { batchSize }`, as the other cursor commands read it. */
function cursorBatchSize(cmd: Doc): number | undefined {
  const cursor = cmd.cursor;
  if (cursor === undefined) return undefined;
  if (!isObject(cursor)) throw wrongType('bulkWrite.cursor', cursor, "type 'object'");
  const size = cursor.batchSize;
  if (size === undefined) return undefined;
  if (typeof size !== 'number' || !Number.isFinite(size))
    throw wrongType('bulkWrite.cursor.batchSize', size, "types '[long, int, decimal, double]'");
  if (size < 0) throw new MongoCommandError(2, `BSON field 'batchSize' value must be >= 0, actual value '${size}'`);
  return Math.trunc(size);
}

const bulkWrite: CommandSpec = {
  adminOnly: true,
  allowedInTxn: true,
  retryableWrite: true,
  // 7.0 has no such command: the same answer as any unknown command (59), before anything else.
  availableIn: (version) => version.bulkWriteCommand,
  handler: async (ctx) => {
    const { cmd } = ctx;
    if (cmd.ops === undefined)
      throw new MongoCommandError(40414, "BSON field 'bulkWrite.ops' is missing but a required field");
    if (!Array.isArray(cmd.ops)) throw wrongType('bulkWrite.ops', cmd.ops, "type 'array'");
    const namespaces = parseNsInfo(cmd);
    for (const flag of ['ordered', 'errorsOnly'] as const) {
      if (cmd[flag] !== undefined && typeof cmd[flag] !== 'boolean')
        throw wrongType(`bulkWrite.${flag}`, cmd[flag], "type 'bool'");
    }
    if (cmd.ops.length === 0 || cmd.ops.length > MAX_WRITE_BATCH_SIZE)
      throw new MongoCommandError(
        16,
        `Write batch sizes must be between 1 and ${MAX_WRITE_BATCH_SIZE}. Got ${cmd.ops.length} operations.`,
      );
    const ops = (cmd.ops as unknown[]).map((raw) => parseOp(raw, namespaces));
    // Checked once here so a bad `let` or bypassDocumentValidation fails the command, not each op.
    letVariables({ ...ctx, name: 'bulkWrite' });
    bypassValidation({ ...ctx, name: 'bulkWrite' });
    const batchSize = cursorBatchSize(cmd);

    const ordered = cmd.ordered !== false;
    const errorsOnly = cmd.errorsOnly === true;
    const totals: Totals = { nErrors: 0, nInserted: 0, nDeleted: 0, nMatched: 0, nModified: 0, nUpserted: 0 };
    const results: Doc[] = [];
    // A retryable write (txnNumber outside a transaction): the ops an earlier attempt committed.
    const txnNumber = typeof ctx.cmd.txnNumber === 'number' ? ctx.cmd.txnNumber : undefined;
    const retryable = ctx.session && !ctx.txn && txnNumber !== undefined ? ctx.session : undefined;
    const earlier = retryable ? committedOps.get(retryable) : undefined;
    const committed = earlier && earlier.txnNumber === txnNumber ? earlier.entries : new Map<number, Doc>();
    for (let idx = 0; idx < ops.length; idx++) {
      const op = ops[idx] as BulkOp;
      const entry = committed.get(idx) ?? (await runOp(ctx, op, idx));
      if (entry.ok === 1) committed.set(idx, entry);
      count(totals, op.kind, entry);
      if (!errorsOnly || entry.ok === 0) results.push(entry);
      // Like the write commands: an ordered batch, or any batch in a transaction, stops at its first error.
      if (entry.ok === 0 && (ordered || ctx.txn)) break;
    }
    if (retryable && txnNumber !== undefined) {
      if (totals.nErrors > 0) committedOps.set(retryable, { txnNumber, entries: committed });
      else committedOps.delete(retryable);
    }
    if (totals.nErrors > 0 && ctx.txn?.state === 'active') {
      // A failed write inside a transaction aborts it, as with insert/update/delete (dispatch.ts).
      ctx.engine.abortTransaction(ctx.txn, 'write error in bulkWrite');
    }
    const cursor = ctx.state.cursors.openCursor(BULK_WRITE_CURSOR_NS, results, { batchSize, lsid: ctx.lsidKey });
    return { cursor, ...totals, ok: 1 };
  },
};

/** The command table entry of `bulkWrite` (an admin command; 59 CommandNotFound when presenting 7.0). */
export const bulkWriteCommands: Record<string, CommandSpec> = { bulkWrite };
