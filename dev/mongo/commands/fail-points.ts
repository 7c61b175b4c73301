/**
 * Fail points, as mongod has them for tests (`configureFailPoint`, enabled by
 * `--setParameter enableTestCommands=1`): `failCommand` and `onPrimaryTransactionalWrite`.
 *
 * Modes and counting follow mongod's FailPoint (src/mongo/util/fail_point.cpp): a mode is `off`,
 * `alwaysOn`, `{ times: n }` (fires n times, then turns itself off; `{ times: 0 }` fires once, as in
 * mongod), `{ skip: n }` (lets n matching evaluations pass, then fires on every one) or
 * `{ activationProbability: p }`. Only an evaluation whose filter matches counts, so commands the
 * fail point does not name never use up its `times`.
 *
 * failCommand is evaluated where mongod evaluates it (src/mongo/db/commands.cpp and the service
 * entry point): once before the command runs, for `blockConnection`, `closeConnection` and
 * `errorCode`, and once after it ran, for `writeConcernError` (the command's effects stay, the
 * reply carries the error). Each is its own evaluation, and each that fires uses up one `times`.
 */
import { MongoCommandError } from '../bson/errors.ts';
import type { Doc } from '../storage/engine.ts';

type Mode =
  | { kind: 'off' }
  | { kind: 'alwaysOn' }
  | { kind: 'times'; left: number }
  | { kind: 'skip'; left: number }
  | { kind: 'random'; probability: number };

/** One fail point: its mode, its data and how often it fired (mongod's `timesEntered`). */
class FailPoint {
  mode: Mode = { kind: 'off' };
  data: Doc = {};
  timesEntered = 0;

  /** Sets the mode; returns timesEntered so far (configureFailPoint's `count`). */
  set(mode: Mode, data: Doc): number {
    this.mode = mode;
    this.data = data;
    return this.timesEntered;
  }

  get active(): boolean {
    return this.mode.kind !== 'off';
  }

  /**
   * One evaluation whose filter matched: whether the fail point fires, as FailPoint::_evaluateByMode
   * decides (and counted as entered when it does).
   */
  fire(): boolean {
    const m = this.mode;
    let fires: boolean;
    switch (m.kind) {
      case 'off':
        return false;
      case 'alwaysOn':
        fires = true;
        break;
      case 'times':
        m.left -= 1;
        if (m.left <= 0) this.mode = { kind: 'off' };
        fires = true;
        break;
      case 'skip':
        fires = m.left <= 0 || --m.left < 0;
        break;
      case 'random':
        fires = Math.random() < m.probability;
        break;
    }
    if (fires) this.timesEntered++;
    return fires;
  }
}

/** mongod's parse of `mode` (FailPoint::parseBSON), with its codes and messages. */
function parseMode(mode: unknown): Mode {
  if (mode === undefined) throw new MongoCommandError(20, "When setting a failpoint, you must supply a 'mode'");
  if (typeof mode === 'string') {
    if (mode === 'off') return { kind: 'off' };
    if (mode === 'alwaysOn') return { kind: 'alwaysOn' };
    throw new MongoCommandError(2, `unknown mode: ${mode}`);
  }
  if (typeof mode !== 'object' || mode === null || Array.isArray(mode))
    throw new MongoCommandError(14, "'mode' must be a string or JSON object");
  const m = mode as Doc;
  for (const key of ['times', 'skip'] as const) {
    if (!(key in m)) continue;
    const n = m[key];
    if (typeof n !== 'number' || !Number.isInteger(n))
      throw new MongoCommandError(14, `'${key}' option to 'mode' must be an integer`);
    if (n < 0) throw new MongoCommandError(2, `'${key}' option to 'mode' must be positive`);
    if (n > 2 ** 31 - 1) throw new MongoCommandError(2, `'${key}' option to 'mode' is too large`);
    return key === 'times' ? { kind: 'times', left: n } : { kind: 'skip', left: n };
  }
  if ('activationProbability' in m) {
    const p = m.activationProbability;
    if (typeof p !== 'number')
      throw new MongoCommandError(14, "the 'activationProbability' option to 'mode' must be a double between 0 and 1");
    if (!(p >= 0 && p <= 1))
      throw new MongoCommandError(2, `activationProbability must be between 0.0 and 1.0; found ${p}`);
    return { kind: 'random', probability: p };
  }
  throw new MongoCommandError(
    2,
    "'mode' must be one of 'off', 'alwaysOn', '{times:n}', '{skip:n}' or '{activationProbability:p}'",
  );
}

/**
 * Error codes mongod puts in its RetriableError category, as the retryable writes specification
 * lists them. mongod labels an error with one of them RetryableWriteError on a retryable write or
 * a commit/abort (src/mongo/db/error_labels.cpp).
 */
const RETRIABLE_CODES = new Set([6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

/** mongod's SnapshotError category: SnapshotTooOld, StaleChunkHistory, SnapshotUnavailable. */
const SNAPSHOT_CODES = new Set([239, 241, 246]);

/** Commands whose labels follow the commit/abort rules (error_labels.cpp's commitOrAbortCommands). */
const COMMIT_OR_ABORT = new Set(['commitTransaction', 'abortTransaction']);

/**
 * Commands that accept a write concern, so failCommand's `writeConcernError` can apply to them
 * (mongod: CommandInvocation::supportsWriteConcern). `aggregate` only with `$out` or `$merge`.
 */
const WRITE_CONCERN_COMMANDS = new Set([
  'insert',
  'update',
  'delete',
  'findAndModify',
  'findandmodify',
  'create',
  'drop',
  'dropDatabase',
  'createIndexes',
  'dropIndexes',
  'collMod',
  'renameCollection',
  'commitTransaction',
  'abortTransaction',
  'bulkWrite',
]);

function supportsWriteConcern(name: string, cmd: Doc): boolean {
  if (WRITE_CONCERN_COMMANDS.has(name)) return true;
  if (name !== 'aggregate' || !Array.isArray(cmd.pipeline)) return false;
  const last = cmd.pipeline[cmd.pipeline.length - 1] as Doc | undefined;
  return last !== undefined && ('$out' in last || '$merge' in last);
}

/**
 * The labels mongod gives an error (ErrorLabelBuilder, src/mongo/db/error_labels.cpp):
 * TransientTransactionError inside a transaction, else RetryableWriteError on a retryable write or a
 * commit/abort when the code (or the write concern error's code) is retriable.
 */
export function mongodErrorLabels(name: string, cmd: Doc, code: number | undefined, wcCode?: number): string[] {
  const hasTxnNumber = cmd.txnNumber !== undefined;
  const inTransaction = hasTxnNumber && cmd.autocommit !== undefined;
  const commitOrAbort = COMMIT_OR_ABORT.has(name);
  if (inTransaction && code !== undefined) {
    const transient =
      code === 112 || // WriteConflict
      code === 24 || // LockTimeout
      code === 267 || // PreparedTransactionInProgress
      SNAPSHOT_CODES.has(code) ||
      (commitOrAbort ? code === 251 && wcCode === undefined : RETRIABLE_CODES.has(code) || code === 251);
    if (transient) return ['TransientTransactionError'];
  }
  const retryableWrite = hasTxnNumber && cmd.autocommit === undefined;
  if (retryableWrite || (inTransaction && commitOrAbort)) {
    if ((code !== undefined && RETRIABLE_CODES.has(code)) || (wcCode !== undefined && RETRIABLE_CODES.has(wcCode)))
      return ['RetryableWriteError'];
  }
  return [];
}

/** What failCommand does to a command before it runs. */
export interface FailCommandAction {
  /** Milliseconds to wait first (`blockConnection`). */
  blockMs: number;
  /** Close the connection without a reply (`closeConnection`). */
  close: boolean;
  /** The error reply to give instead of running the command (`errorCode`). */
  error: Doc | undefined;
}

/** mongod's command aliases: a command matches failCommands by its name or any alias (Command::hasAlias). */
const ALIASES: Record<string, string> = {
  ismaster: 'isMaster',
  findandmodify: 'findAndModify',
  buildinfo: 'buildInfo',
};

/** Marks a reply the wire server must not send: it closes the connection instead. */
const CLOSE = Symbol('close connection');

/** A reply that tells the wire server to close the connection without answering. */
export function closeConnectionReply(): Doc {
  const reply: Doc = {
    ok: 0,
    code: 50985,
    codeName: 'Location50985',
    errmsg: "Failing command via 'failCommand' failpoint",
  };
  Object.defineProperty(reply, CLOSE, { value: true, enumerable: false });
  return reply;
}

/** Whether a reply says the connection is to be closed instead of answered. */
export function closesConnection(reply: Doc): boolean {
  return (reply as Record<symbol, unknown>)[CLOSE] === true;
}

/** How often `waitForFailPoint` looks at the count (mongod is woken at once; a few ms is as good for tests). */
const WAIT_POLL_MS = 2;

/** The fail points of one server, and the client metadata failCommand filters on. */
export class FailPoints {
  private readonly failCommand = new FailPoint();
  private readonly onPrimaryTransactionalWrite = new FailPoint();
  /** appName of each connection, from the `client` document of its first hello. */
  private readonly appNames = new Map<number, string>();

  /** Whether any fail point is on (the fast path skips everything else). */
  get any(): boolean {
    return this.failCommand.active || this.onPrimaryTransactionalWrite.active;
  }

  /** `configureFailPoint`: sets a fail point's mode and data; returns the reply (`count`: timesEntered before). */
  configure(cmd: Doc): Doc {
    const name = cmd.configureFailPoint;
    if (typeof name !== 'string')
      throw new MongoCommandError(14, "BSON field 'configureFailPoint' is the wrong type, expected type 'string'");
    const point = this.named(name);
    if (!point)
      throw new MongoCommandError(
        266,
        `${name} not found (the embedded server implements only failCommand and onPrimaryTransactionalWrite)`,
      );
    const mode = parseMode(cmd.mode);
    const data = cmd.data ?? {};
    if (typeof data !== 'object' || data === null || Array.isArray(data))
      throw new MongoCommandError(14, "the 'data' option must be a JSON object");
    return { count: point.set(mode, data as Doc), ok: 1 };
  }

  /**
   * `waitForFailPoint`: resolves once the fail point has been entered `timesEntered` times in all
   * (the count configureFailPoint reports, which mode changes never reset), as mongod's
   * FailPoint::waitForTimesEntered; MaxTimeMSExpired (50) when `maxTimeMS` runs out first.
   */
  async waitFor(cmd: Doc): Promise<Doc> {
    const name = cmd.waitForFailPoint;
    if (typeof name !== 'string')
      throw new MongoCommandError(14, "BSON field 'waitForFailPoint' is the wrong type, expected type 'string'");
    const point = this.named(name);
    if (!point) throw new MongoCommandError(266, `${name} not found`);
    const target = cmd.timesEntered;
    if (target === undefined)
      throw new MongoCommandError(40414, "BSON field 'waitForFailPoint.timesEntered' is missing but a required field");
    if (typeof target !== 'number')
      throw new MongoCommandError(
        14,
        "BSON field 'waitForFailPoint.timesEntered' is the wrong type, expected type 'long'",
      );
    const maxTimeMS = typeof cmd.maxTimeMS === 'number' && cmd.maxTimeMS > 0 ? cmd.maxTimeMS : undefined;
    const deadline = maxTimeMS === undefined ? undefined : Date.now() + maxTimeMS;
    while (point.timesEntered < target) {
      if (deadline !== undefined && Date.now() >= deadline)
        throw new MongoCommandError(50, 'operation exceeded time limit');
      await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
    }
    return { ok: 1 };
  }

  /** The fail point of that name, if this server has it. */
  private named(name: string): FailPoint | undefined {
    if (name === 'failCommand') return this.failCommand;
    if (name === 'onPrimaryTransactionalWrite') return this.onPrimaryTransactionalWrite;
    return undefined;
  }

  /** Remembers a connection's appName from its handshake (mongod reads the first hello's `client`). */
  noteHandshake(connectionId: number, cmd: Doc): void {
    if (this.appNames.has(connectionId)) return;
    const client = cmd.client as Doc | undefined;
    const app = (client?.application as Doc | undefined)?.name;
    if (typeof app === 'string') this.appNames.set(connectionId, app);
  }

  /** Forgets a closed connection. */
  forget(connectionId: number): void {
    this.appNames.delete(connectionId);
  }

  /** CommandHelpers::shouldActivateFailCommandFailPoint: whether the data names this command and client. */
  private matches(data: Doc, name: string, cmd: Doc, db: string, connectionId: number): boolean {
    if (name === 'configureFailPoint') return false; // never failed, even when named
    if (data.appName !== undefined && this.appNames.get(connectionId) !== data.appName) return false;
    if (data.namespace !== undefined) {
      const coll = cmd[name];
      if (typeof coll !== 'string' || `${db}.${coll}` !== data.namespace) return false;
    }
    // Every client of this server is external, so failInternalCommands changes nothing here.
    if (data.failAllCommands !== undefined) return true;
    const names = Array.isArray(data.failCommands) ? data.failCommands : [];
    const canonical = ALIASES[name] ?? name;
    return names.some((n) => typeof n === 'string' && (ALIASES[n] ?? n) === canonical);
  }

  /**
   * failCommand before a command runs (CommandHelpers::evaluateFailCommandFailPoint): block, close the
   * connection, or fail with `errorCode`; undefined when it does not fire.
   */
  beforeCommand(name: string, cmd: Doc, db: string, connectionId: number): FailCommandAction | undefined {
    const fp = this.failCommand;
    if (!fp.active) return undefined;
    const data = fp.data;
    const close = data.closeConnection === true;
    const block = data.blockConnection === true;
    const code = typeof data.errorCode === 'number' && Number.isInteger(data.errorCode) ? data.errorCode : undefined;
    if (!(close || block || code !== undefined)) return undefined;
    if (!this.matches(data, name, cmd, db, connectionId) || !fp.fire()) return undefined;
    let blockMs = 0;
    if (block) {
      const ms = data.blockTimeMS;
      if (typeof ms !== 'number' || !Number.isInteger(ms))
        return {
          blockMs: 0,
          close: false,
          error: this.failed(name, cmd, 72, "must specify 'blockTimeMS' when 'blockConnection' is true"),
        };
      if (ms < 0)
        return { blockMs: 0, close: false, error: this.failed(name, cmd, 72, "'blockTimeMS' must be non-negative") };
      blockMs = ms;
    }
    if (close) return { blockMs, close: true, error: undefined };
    if (code === undefined) return { blockMs, close: false, error: undefined };
    const extra = data.errorExtraInfo;
    const reply = this.failed(name, cmd, code, "Failing command via 'failCommand' failpoint");
    if (typeof extra === 'object' && extra !== null && !Array.isArray(extra)) Object.assign(reply, extra);
    return { blockMs, close: false, error: reply };
  }

  /** An error reply of failCommand, labelled as the data says or else as mongod labels it. */
  private failed(name: string, cmd: Doc, code: number, errmsg: string): Doc {
    const reply = new MongoCommandError(code, errmsg).toReply();
    const given = this.failCommand.data.errorLabels;
    const labels = Array.isArray(given) ? (given as string[]) : mongodErrorLabels(name, cmd, code);
    if (labels.length > 0) reply.errorLabels = labels;
    return reply;
  }

  /**
   * failCommand after a command ran: the `writeConcernError` to report instead of waiting for the
   * write concern (undefined when it does not fire).
   */
  writeConcernError(name: string, cmd: Doc, db: string, connectionId: number): Doc | undefined {
    const fp = this.failCommand;
    if (!fp.active) return undefined;
    const wce = fp.data.writeConcernError;
    if (wce === undefined || !supportsWriteConcern(name, cmd)) return undefined;
    if (!this.matches(fp.data, name, cmd, db, connectionId) || !fp.fire()) return undefined;
    return wce as Doc;
  }

  /**
   * onPrimaryTransactionalWrite, evaluated once per statement a retryable write executes (mongod:
   * when the statement's write is registered for commit): whether to close the connection after the
   * command (`closeConnection`, default true) and the code to fail the statement with before it
   * commits (`failBeforeCommitExceptionCode`), or undefined when it does not fire.
   */
  onRetryableWriteStatement(): { close: boolean; failCode: number | undefined } | undefined {
    const fp = this.onPrimaryTransactionalWrite;
    if (!fp.active || !fp.fire()) return undefined;
    const code = fp.data.failBeforeCommitExceptionCode;
    return {
      close: fp.data.closeConnection !== false,
      failCode: typeof code === 'number' ? code : undefined,
    };
  }
}
