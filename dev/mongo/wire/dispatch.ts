/**
 * Runs one command document: finds its handler, resolves the session and transaction it belongs
 * to (transactions, retryable writes), and turns every failure into a MongoDB error reply.
 */

import { MongoCommandError } from '../bson/errors.ts';
import { gossipClusterTime, readConcernView, withAtClusterTime, writeConcernError } from '../commands/concerns.ts';
import { closeConnectionReply, closesConnection, mongodErrorLabels } from '../commands/fail-points.ts';
import { lsidKeyOf } from '../commands/handshake.ts';
import { commands } from '../commands/index.ts';
import type { CommandContext, ServerState, SessionState } from '../commands/types.ts';
import { type Doc, LATEST, type Transaction } from '../storage/engine.ts';
import { runRetryableWrite } from './retryable-write-faults.ts';

const LEGACY_ALLOWED = new Set(['hello', 'isMaster', 'ismaster']);

function noSuchTransaction(message: string): MongoCommandError {
  return new MongoCommandError(251, message, {}, ['TransientTransactionError']);
}

function sessionFor(state: ServerState, key: string): SessionState {
  let s = state.sessions.get(key);
  if (!s) {
    s = { key, txnNumber: -1, txn: undefined, lastUsed: Date.now(), retryReply: undefined };
    state.sessions.set(key, s);
  }
  s.lastUsed = Date.now();
  return s;
}

/** Handles commitTransaction / abortTransaction. */
function finishTransaction(ctx: CommandContext, session: SessionState, txnNumber: number): Doc {
  if (txnNumber < session.txnNumber) {
    throw new MongoCommandError(
      225,
      `Cannot ${ctx.name} transaction ${txnNumber} on session because a newer transaction ${session.txnNumber} has already started.`,
    );
  }
  const txn = session.txnNumber === txnNumber ? session.txn : undefined;
  if (!txn)
    throw noSuchTransaction(`Given transaction number ${txnNumber} does not match any in-progress transactions.`);
  if (ctx.name === 'commitTransaction') {
    if (txn.state === 'aborted')
      throw noSuchTransaction(`Transaction with { txnNumber: ${txnNumber} } has been aborted.`);
    ctx.engine.commitTransaction(txn);
    return { ok: 1 };
  }
  if (txn.state === 'committed')
    throw new MongoCommandError(256, `Transaction with { txnNumber: ${txnNumber} } has been committed.`);
  if (txn.state === 'aborted')
    throw noSuchTransaction(`Transaction with { txnNumber: ${txnNumber} } has been aborted.`);
  ctx.engine.abortTransaction(txn, 'aborted by client');
  return { ok: 1 };
}

/** Finds (or starts) the transaction a command with `autocommit: false` belongs to. */
function resolveTransaction(
  ctx: CommandContext,
  session: SessionState,
  txnNumber: number,
  allowed: boolean,
): Transaction {
  const { cmd } = ctx;
  if (cmd.startTransaction === true) {
    if (txnNumber < session.txnNumber) {
      throw new MongoCommandError(
        225,
        `Cannot start transaction ${txnNumber} on session because a newer transaction ${session.txnNumber} has already started.`,
      );
    }
    if (txnNumber === session.txnNumber && session.txn) {
      throw new MongoCommandError(
        117,
        `Cannot start a transaction at given transaction number ${txnNumber} a transaction with the same number is in state ${session.txn.state}`,
      );
    }
    const level = (cmd.readConcern as Doc | undefined)?.level;
    if (level !== undefined && level !== 'local' && level !== 'majority' && level !== 'snapshot') {
      throw new MongoCommandError(
        72,
        `The readConcern level must be either 'local' (default), 'majority' or 'snapshot' in order to run in a transaction`,
      );
    }
    if (!allowed) throw new MongoCommandError(263, `Cannot run '${ctx.name}' in a multi-document transaction.`);
    if (session.txn?.state === 'active') ctx.engine.abortTransaction(session.txn, 'superseded by a newer transaction');
    const txn = ctx.engine.beginTransaction(txnNumber, cmd.lsid as Doc | undefined);
    session.txn = txn;
    session.txnNumber = txnNumber;
    return txn;
  }
  if (txnNumber !== session.txnNumber || !session.txn) {
    throw noSuchTransaction(
      `Given transaction number ${txnNumber} does not match any in-progress transactions. The active transaction number is ${session.txnNumber}`,
    );
  }
  const txn = session.txn;
  if (txn.state === 'aborted') {
    throw noSuchTransaction(
      `Transaction with { txnNumber: ${txnNumber} } has been aborted.${txn.abortReason ? ` (${txn.abortReason})` : ''}`,
    );
  }
  if (txn.state === 'committed')
    throw new MongoCommandError(256, `Transaction with { txnNumber: ${txnNumber} } has been committed.`);
  if (cmd.readConcern !== undefined)
    throw new MongoCommandError(72, 'Only the first command in a transaction may specify a readConcern');
  if (!allowed) throw new MongoCommandError(263, `Cannot run '${ctx.name}' in a multi-document transaction.`);
  return txn;
}

/**
 * Executes a command and returns the reply document (never throws). Replies carry the cluster time
 * and, after a write, the write concern error a single node gives for `w` it cannot satisfy.
 */
export async function dispatch(
  state: ServerState,
  cmd: Doc,
  opts: { connectionId: number; legacyDb?: string | undefined },
): Promise<Doc> {
  let reply = await execute(state, cmd, opts);
  if (closesConnection(reply)) return reply;
  const failed = reply.ok === 1 && state.failPoints.any ? failPointWriteConcernError(state, cmd, opts) : undefined;
  if (failed) {
    reply = { ...reply, writeConcernError: failed };
    const labels = mongodErrorLabels(Object.keys(cmd)[0] ?? '', cmd, undefined, failed.code as number | undefined);
    if (labels.length > 0) reply.errorLabels = labels;
  } else if (reply.ok === 1 && (cmd.autocommit !== false || 'commitTransaction' in cmd || 'abortTransaction' in cmd)) {
    const wce = writeConcernError(cmd);
    if (wce) reply = { ...reply, writeConcernError: wce };
  }
  return opts.legacyDb === undefined ? gossipClusterTime(state, reply) : reply;
}

/**
 * failCommand's `writeConcernError`, evaluated after the command ran, in place of waiting for the
 * write concern (mongod's runCommandImpl); its labels are mongod's own (error_labels.cpp), which is
 * what mongod does with the fail point's `errorLabels` there: it ignores them.
 */
function failPointWriteConcernError(
  state: ServerState,
  cmd: Doc,
  opts: { connectionId: number; legacyDb?: string | undefined },
): Doc | undefined {
  const name = Object.keys(cmd)[0] ?? '';
  const db = opts.legacyDb ?? (typeof cmd.$db === 'string' ? cmd.$db : '');
  return state.failPoints.writeConcernError(name, cmd, db, opts.connectionId);
}

/** failCommand before a command runs: waits, then closes the connection or answers its error (undefined: run it). */
async function failPointBeforeCommand(
  state: ServerState,
  name: string,
  cmd: Doc,
  db: string,
  connectionId: number,
): Promise<Doc | undefined> {
  const action = state.failPoints.beforeCommand(name, cmd, db, connectionId);
  if (!action) return undefined;
  if (action.blockMs > 0) await new Promise((resolve) => setTimeout(resolve, action.blockMs));
  if (action.close) return closeConnectionReply();
  return action.error;
}

async function execute(
  state: ServerState,
  cmd: Doc,
  opts: { connectionId: number; legacyDb?: string | undefined },
): Promise<Doc> {
  const name = Object.keys(cmd)[0] ?? '';
  let txn: Transaction | undefined;
  try {
    const legacy = opts.legacyDb !== undefined;
    if (legacy && !LEGACY_ALLOWED.has(name)) {
      throw new MongoCommandError(
        352,
        `Unsupported OP_QUERY command: ${name}. The client driver may require an upgrade. For more details see https://dochub.mongodb.org/core/legacy-opcode-removal`,
      );
    }
    const spec = Object.hasOwn(commands, name) ? commands[name] : undefined;
    if (
      !spec ||
      (spec.testOnly && !state.testCommandsEnabled) ||
      (spec.availableIn && !spec.availableIn(state.version))
    )
      throw new MongoCommandError(59, `no such command: '${name}'`);
    const db = legacy ? opts.legacyDb : cmd.$db;
    if (typeof db !== 'string' || db === '')
      throw new MongoCommandError(40571, 'OP_MSG requests require a $db argument');
    if (spec.adminOnly && db !== 'admin')
      throw new MongoCommandError(13, `${name} may only be run against the admin database.`);
    if (name === 'hello' || name === 'isMaster' || name === 'ismaster')
      state.failPoints.noteHandshake(opts.connectionId, cmd);
    if (state.failPoints.any) {
      // Where mongod evaluates failCommand: the command is known, nothing of it has run yet.
      const failed = await failPointBeforeCommand(state, name, cmd, db, opts.connectionId);
      if (failed) return failed;
    }

    const lsidKey = lsidKeyOf(cmd.lsid);
    const ctx: CommandContext = {
      state,
      engine: state.engine,
      db,
      name,
      cmd,
      connectionId: opts.connectionId,
      view: LATEST,
      txn: undefined,
      session: undefined,
      lsidKey,
      legacy,
    };
    const isTxnControl = name === 'commitTransaction' || name === 'abortTransaction';
    const txnNumber = typeof cmd.txnNumber === 'number' ? cmd.txnNumber : undefined;
    if (cmd.txnNumber !== undefined && txnNumber === undefined)
      throw new MongoCommandError(14, "BSON field 'txnNumber' is the wrong type, expected type 'long'");

    if (cmd.autocommit === false || isTxnControl) {
      if (!lsidKey) throw new MongoCommandError(72, 'Transactions require a logical session id (lsid)');
      if (txnNumber === undefined) throw new MongoCommandError(72, 'Transactions require a txnNumber');
      if (cmd.autocommit !== false) throw new MongoCommandError(72, `${name} must be run within a transaction`);
      const session = sessionFor(state, lsidKey);
      ctx.session = session;
      if (isTxnControl) return finishTransaction(ctx, session, txnNumber);
      txn = resolveTransaction(ctx, session, txnNumber, spec.allowedInTxn === true);
      ctx.txn = txn;
      ctx.view = { snapshot: txn.snapshot, txn };
    } else if (cmd.autocommit !== undefined) {
      throw new MongoCommandError(72, 'autocommit may only be specified as false');
    } else if (cmd.startTransaction !== undefined) {
      throw new MongoCommandError(72, 'startTransaction requires autocommit: false');
    } else if (lsidKey && txnNumber !== undefined && spec.retryableWrite) {
      // A retryable write: not a transaction, but a resend of the same txnNumber returns the first outcome.
      const session = sessionFor(state, lsidKey);
      ctx.session = session;
      readConcernView(ctx, spec); // writes refuse a snapshot read concern
      if (txnNumber < session.txnNumber) {
        throw new MongoCommandError(
          225,
          `Retryable write with txnNumber ${txnNumber} is prohibited on session because a newer retryable write with txnNumber ${session.txnNumber} has already started on this session.`,
        );
      }
      if (session.retryReply?.txnNumber === txnNumber) return session.retryReply.reply;
      session.txnNumber = txnNumber;
      if (session.txn?.state === 'active')
        state.engine.abortTransaction(session.txn, 'session started a retryable write');
      session.txn = undefined;
      const { reply, close } = await runRetryableWrite(name, cmd, session, txnNumber, state.failPoints, (c) =>
        Promise.resolve(spec.handler({ ...ctx, cmd: c })),
      );
      // Only an outcome that applied in full is answered again; a failed statement is run again.
      // (bulkWrite reports its op errors as nErrors; it remembers its own committed ops, bulk-write.ts.)
      if (reply.ok === 1 && !reply.writeErrors && !reply.nErrors) session.retryReply = { txnNumber, reply };
      return close ? closeConnectionReply() : reply;
    } else if (lsidKey) {
      ctx.session = sessionFor(state, lsidKey);
    }

    const snapshotView = txn ? undefined : readConcernView(ctx, spec);
    if (snapshotView) {
      ctx.view = snapshotView;
      return withAtClusterTime(state, await spec.handler(ctx), snapshotView);
    }
    const reply = await spec.handler(ctx);
    if (txn && Array.isArray(reply.writeErrors) && reply.writeErrors.length > 0) {
      // Like mongod: a failed write inside a transaction aborts it.
      state.engine.abortTransaction(txn, `write error in ${name}`);
    }
    return reply;
  } catch (err) {
    if (txn && txn.state === 'active') state.engine.abortTransaction(txn, `error in ${name}`);
    if (err instanceof MongoCommandError) return err.toReply();
    const message = err instanceof Error ? err.message : String(err);
    state.log(`command ${name} failed: ${err instanceof Error && err.stack ? err.stack : message}`);
    return { ok: 0, errmsg: message, code: 8, codeName: 'UnknownError' };
  }
}
