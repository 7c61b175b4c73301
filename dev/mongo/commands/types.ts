/** Types shared by command handlers. */
import type { ObjectId } from 'bson';
import type { ChangeLog } from '../query/change-streams.ts';
import type { CursorStore } from '../query/cursors.ts';
import type { Doc, Engine, ReadView, Transaction } from '../storage/engine.ts';
import type { FailPoints } from './fail-points.ts';
import type { ServerVersionProfile } from './server-version.ts';

/** Per logical session state (transactions and retryable writes). */
export interface SessionState {
  key: string;
  txnNumber: number;
  txn: Transaction | undefined;
  lastUsed: number;
  /** Reply of the last retryable write, replayed if the same txnNumber is retried. */
  retryReply: { txnNumber: number; reply: Doc } | undefined;
}

/** State shared by all connections of one server. */
export interface ServerState {
  engine: Engine;
  cursors: CursorStore;
  /** Committed changes, read by change streams. */
  changes: ChangeLog;
  sessions: Map<string, SessionState>;
  /** `host:port` clients should use, reported as me/primary/hosts. */
  address: string;
  setName: string;
  /** The MongoDB release this server presents itself as (8.0 unless started as 7.0), and what differs. */
  version: ServerVersionProfile;
  electionId: ObjectId;
  startedAt: number;
  parameters: { transactionLifetimeLimitSeconds: number };
  /** Seconds part of every cluster time this server reports (its start time); see concerns.ts. */
  clusterTimeBase: number;
  /** Read-only transactions that keep the history snapshot sessions read, by session key. */
  snapshotPins: Map<string, Transaction[]>;
  log: (line: string) => void;
  /** Whether test-only commands (configureFailPoint) exist: mongod's `--setParameter enableTestCommands=1`. */
  testCommandsEnabled: boolean;
  /** Fail points set by configureFailPoint (all off unless a test sets them). */
  failPoints: FailPoints;
  /** Connection counts for serverStatus (filled in by the wire server). */
  connections: () => { current: number; available: number; totalCreated: number; active: number };
}

/** Everything a handler gets. */
export interface CommandContext {
  state: ServerState;
  engine: Engine;
  /** Database from `$db`. */
  db: string;
  /** Command name as sent (first key). */
  name: string;
  cmd: Doc;
  connectionId: number;
  /** What reads see: the transaction's snapshot or the latest state. */
  view: ReadView;
  txn: Transaction | undefined;
  session: SessionState | undefined;
  lsidKey: string | undefined;
  /** Whether the command arrived via legacy OP_QUERY (only the handshake may). */
  legacy: boolean;
}

/** A command table entry. */
export interface CommandSpec {
  handler: (ctx: CommandContext) => Doc | Promise<Doc>;
  /** Only runs against the admin database (like mongod's adminOnly commands). */
  adminOnly?: boolean;
  /** May run inside a multi-document transaction. */
  allowedInTxn?: boolean;
  /** A write that retryable writes may resend with the same txnNumber. */
  retryableWrite?: boolean;
  /** Exists only with test commands enabled (mongod's enableTestCommands); otherwise not found (59). */
  testOnly?: boolean;
  /** Exists only in the releases this accepts (e.g. 8.0's bulkWrite); otherwise not found (59), like an unknown command. */
  availableIn?: (version: ServerVersionProfile) => boolean;
  /** Accepts `readConcern: { level: 'snapshot' }` outside transactions (find, aggregate, distinct). */
  snapshotReads?: boolean;
}
