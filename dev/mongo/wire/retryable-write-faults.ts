/**
 * mongod's `onPrimaryTransactionalWrite` fail point around a retryable write (a write with `lsid` and
 * `txnNumber` outside a transaction). mongod evaluates it once per statement as the statement's write
 * is registered for commit (src/mongo/db/transaction_participant.cpp): `failBeforeCommitExceptionCode`
 * fails that statement before it commits (a write error at its index), and `closeConnection` (default
 * true) ends the connection, so the client never sees the reply although the rest of the command ran.
 *
 * The statements committed before a failed one (failed by the fail point or for real, a duplicate
 * key…) stay committed, and mongod remembers them by statement id: a retry with the same txnNumber
 * runs only the others. Here that memory is the `done` list of the session's partial outcome, and the
 * retry's reply is merged with the first one's.
 */
import { MongoCommandError } from '../bson/errors.ts';
import type { FailPoints } from '../commands/fail-points.ts';
import type { SessionState } from '../commands/types.ts';
import type { Doc } from '../storage/engine.ts';

/** The statements array of each multi-statement write command. */
const STATEMENTS: Record<string, string> = { insert: 'documents', update: 'updates', delete: 'deletes' };

/** A retryable write that failed part-way: which statements committed, and what they answered. */
interface Partial {
  txnNumber: number;
  /** Original indexes of the committed statements. */
  done: number[];
  reply: Doc;
}

const partials = new WeakMap<SessionState, Partial>();

/** Runs `run` on the statements at `indexes` only, with every index in its reply mapped back. */
async function runSubset(cmd: Doc, key: string, indexes: number[], run: (cmd: Doc) => Promise<Doc>): Promise<Doc> {
  const all = cmd[key] as unknown[];
  const reply = await run({ ...cmd, [key]: indexes.map((i) => all[i]) });
  const remap = (entries: unknown): Doc[] | undefined =>
    Array.isArray(entries)
      ? (entries as Doc[]).map((e) => ({ ...e, index: indexes[e.index as number] ?? e.index }))
      : undefined;
  const out: Doc = { ...reply };
  const writeErrors = remap(reply.writeErrors);
  if (writeErrors) out.writeErrors = writeErrors;
  const upserted = remap(reply.upserted);
  if (upserted) out.upserted = upserted;
  return out;
}

/** Adds the counts and lists of two replies of the same command (the first attempt's and a retry's). */
function merge(a: Doc, b: Doc): Doc {
  const out: Doc = { ...a, ...b };
  for (const k of ['n', 'nModified']) {
    if (typeof a[k] === 'number' || typeof b[k] === 'number')
      out[k] = ((a[k] as number) ?? 0) + ((b[k] as number) ?? 0);
  }
  for (const k of ['upserted', 'writeErrors']) {
    const list = [...((a[k] as Doc[] | undefined) ?? []), ...((b[k] as Doc[] | undefined) ?? [])].sort(
      (x, y) => (x.index as number) - (y.index as number),
    );
    if (list.length > 0) out[k] = list;
    else delete out[k];
  }
  return out;
}

/**
 * Runs a retryable write under onPrimaryTransactionalWrite, and resumes one that failed part-way
 * (by the fail point or for real, a duplicate key…) with the statements that did not commit.
 * `close`: the connection is to be closed instead of answered.
 */
export async function runRetryableWrite(
  name: string,
  cmd: Doc,
  session: SessionState,
  txnNumber: number,
  failPoints: FailPoints,
  run: (cmd: Doc) => Promise<Doc>,
): Promise<{ reply: Doc; close: boolean }> {
  const key = STATEMENTS[name];
  const count = key ? (Array.isArray(cmd[key]) ? (cmd[key] as unknown[]).length : 0) : 1;
  const previous = partials.get(session);
  const done = previous?.txnNumber === txnNumber ? previous.done : [];
  partials.delete(session);
  try {
    return await resume(name, cmd, key, count, done, previous, session, txnNumber, failPoints, run);
  } catch (err) {
    if (previous && done.length > 0) partials.set(session, previous); // nothing of this attempt committed
    throw err;
  }
}

async function resume(
  name: string,
  cmd: Doc,
  key: string | undefined,
  count: number,
  done: number[],
  previous: Partial | undefined,
  session: SessionState,
  txnNumber: number,
  failPoints: FailPoints,
  run: (cmd: Doc) => Promise<Doc>,
): Promise<{ reply: Doc; close: boolean }> {
  const pending = [...Array(count).keys()].filter((i) => !done.includes(i));
  const ordered = cmd.ordered !== false;
  const failures = new Map<number, number>();
  let close = false;
  for (const i of failPoints.any ? pending : []) {
    const fired = failPoints.onRetryableWriteStatement();
    if (!fired) continue;
    close ||= fired.close;
    if (fired.failCode === undefined) continue;
    failures.set(i, fired.failCode);
    if (ordered) break;
  }
  const failure = (index: number, code: number): Doc => ({
    index,
    code,
    codeName: new MongoCommandError(code, '').codeName,
    errmsg: `Failing write for statement ${index} due to the onPrimaryTransactionalWrite fail point`,
  });

  if (!key) {
    // findAndModify: one statement; its failure is the command's.
    const code = failures.get(0);
    if (code === undefined) return { reply: await run(cmd), close };
    const { index: _, ...error } = failure(0, code);
    return { reply: { ok: 0, ...error }, close };
  }
  const firstFailure = ordered && failures.size > 0 ? Math.min(...failures.keys()) : count;
  const toRun = pending.filter((i) => i < firstFailure && !failures.has(i));
  let reply: Doc =
    failures.size === 0 && done.length === 0
      ? await run(cmd)
      : toRun.length > 0
        ? await runSubset(cmd, key, toRun, run)
        : { n: 0, ...(name === 'update' ? { nModified: 0 } : {}), ok: 1 };
  // Statements that failed for real (a duplicate key…): ordered execution stopped at the first.
  const realErrors = ((reply.writeErrors as Doc[] | undefined) ?? []).map((e) => e.index as number);
  const stop = ordered && realErrors.length > 0 ? Math.min(...realErrors) : Number.POSITIVE_INFINITY;
  if (failures.size > 0) {
    const injected = [...failures].map(([i, code]) => failure(i, code));
    reply = merge(reply, { writeErrors: injected });
  }
  if (previous && done.length > 0) reply = merge(previous.reply, reply);
  if (failures.size > 0 || realErrors.length > 0) {
    const committed = [...done, ...toRun.filter((i) => i < stop && !realErrors.includes(i))];
    const { writeErrors: _, ...answered } = reply;
    partials.set(session, { txnNumber, done: committed, reply: answered });
  }
  return { reply, close };
}
