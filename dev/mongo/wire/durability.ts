/**
 * Durable acknowledgement: a command's reply leaves only once the journal record holding its
 * changes is on disk (see journal.ts). Without a journal (in-memory server) replies are immediate.
 */
import { commands } from '../commands/index.ts';
import type { ServerState } from '../commands/types.ts';
import type { Doc } from '../storage/engine.ts';

function journalFailedReply(err: unknown): Doc {
  const message = err instanceof Error ? err.message : String(err);
  return {
    ok: 0,
    errmsg: `the journal could not be written (${message}); nothing is acknowledged any more, restart the server`,
    code: 1,
    codeName: 'InternalError',
  };
}

/** Runs a command through `run` and returns its reply once the command's changes are durable. */
export async function replyWhenDurable(state: ServerState, cmd: Doc, run: () => Promise<Doc>): Promise<Doc> {
  const journal = state.engine.journal;
  if (!journal) return run();
  if (journal.failed) return journalFailedReply(journal.failed);
  const name = Object.keys(cmd)[0] ?? '';
  // A write that changed nothing (a retry answered from the session, a duplicate key…) still
  // waits for what was queued before it, so it never acknowledges ahead of the original.
  const isWrite = commands[name]?.retryableWrite === true || name === 'commitTransaction';
  try {
    return await journal.runUnit(run, isWrite);
  } catch (err) {
    return journalFailedReply(err);
  }
}
