/**
 * An in-process server that speaks enough of the MongoDB wire protocol for the official driver:
 * a single-node replica set primary with CRUD, cursors, indexes and transactions.
 * See dev/mongo/README.md for what is (not) implemented.
 */
import { ObjectId } from 'bson';
import { keyString } from './bson/order.ts';
import { dropInterruptedOutCollections } from './commands/aggregate-write.ts';
import { FailPoints } from './commands/fail-points.ts';
import { isServerRelease, type ServerRelease, serverVersionProfile } from './commands/server-version.ts';
import type { ServerState } from './commands/types.ts';
import { ChangeLog, DEFAULT_CHANGE_HISTORY } from './query/change-streams.ts';
import { CursorStore } from './query/cursors.ts';
import { runQuery } from './query/execute.ts';
import { Engine, LATEST, LockWait } from './storage/engine.ts';
import { type CompactionPolicy, openJournal } from './storage/journal.ts';
import { WireServer } from './wire/server.ts';

/** Options of {@link startEmbeddedMongo}. */
export interface EmbeddedMongoOptions {
  /** TCP port; 0 or undefined picks a free one. */
  port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Directory for the journal; without it data lives in memory only. */
  dbPath?: string;
  /** Where log lines go (default: console.error with a prefix). */
  log?: (line: string) => void;
  /**
   * With dbPath: start even though the journal is damaged before its end. A copy of the damaged
   * file is kept (`journal.bson.damaged-<time>`) and every intact record is loaded, past the damage.
   */
  repair?: boolean;
  /**
   * With dbPath: false restores the old, non-durable behaviour (no fsync, replies do not wait
   * for the disk). For benchmark comparisons only.
   */
  durable?: boolean;
  /** With dbPath: when to compact the journal while running (default: dead bytes ≥ half the file and ≥ 16 MiB). */
  compaction?: CompactionPolicy;
  /**
   * How many committed changes change streams can resume from (default 10 000); older resume points
   * get ChangeStreamHistoryLost, as when mongod's oplog has rolled over.
   */
  changeStreamHistory?: number;
  /** Open connections beyond this are closed at once, like mongod's net.maxIncomingConnections (default: no limit). */
  maxIncomingConnections?: number;
  /**
   * Enables test-only commands (`configureFailPoint`), like mongod's `--setParameter enableTestCommands=1`.
   * Default false: the commands answer 59 CommandNotFound, as on a production mongod.
   */
  enableTestCommands?: boolean;
  /** How often refused connections are summed up in one log line after the first is logged (default 10 000 ms). */
  refusedConnectionLogIntervalMs?: number;
  /**
   * The MongoDB release to present: '8.0' (default: maxWireVersion 25, the `bulkWrite` admin command,
   * `sort` in updates) or '7.0' (maxWireVersion 21, neither), so the 7.0 path of clients stays tested.
   */
  version?: ServerRelease;
}

/** A running embedded server. */
export interface EmbeddedMongo {
  /** A URI the official driver can use as-is, transactions included. */
  uri: string;
  port: number;
  /** The release it presents itself as ('8.0' or '7.0'). */
  version: ServerRelease;
  /** Closes every connection, persists data (with dbPath) and releases all handles. */
  stop(): Promise<void>;
}

/** Replica set name reported in hello and used in the URI. */
export const REPLICA_SET_NAME = 'rs0';
const SWEEP_INTERVAL_MS = 500;
/** mongod's TTL monitor runs every 60 s (ttlMonitorSleepSecs). */
const TTL_INTERVAL_MS = 60_000;
const SESSION_TIMEOUT_MS = 30 * 60_000;

/** Deletes documents whose TTL index date has passed, like mongod's TTL monitor. */
function runTtlMonitor(engine: Engine): void {
  const now = Date.now();
  for (const colls of engine.dbs.values()) {
    for (const coll of colls.values()) {
      for (const index of coll.indexes.values()) {
        const ttl = index.spec.expireAfterSeconds;
        if (typeof ttl !== 'number') continue;
        const field = index.fields[0] as string;
        const filter = { [field]: { $lt: new Date(now - ttl * 1000) } };
        for (const doc of runQuery(engine, coll, LATEST, filter)) {
          try {
            engine.writeDoc(coll, keyString(doc._id), null, LATEST, 'delete');
          } catch (err) {
            if (!(err instanceof LockWait)) throw err; // held by a transaction: next round
          }
        }
      }
    }
  }
}

/** Starts the embedded MongoDB-compatible server. */
export async function startEmbeddedMongo(options: EmbeddedMongoOptions = {}): Promise<EmbeddedMongo> {
  const log = options.log ?? ((line: string) => console.error(`[embedded-mongo] ${line}`));
  const host = options.host ?? '127.0.0.1';
  if (options.version !== undefined && !isServerRelease(options.version))
    throw new Error(`unsupported version ${String(options.version)} (the embedded server can be 8.0 or 7.0)`);
  const engine = new Engine();
  if (options.dbPath) {
    engine.journal = await openJournal(
      options.dbPath,
      (change) => engine.replay(change),
      () => engine.snapshotRecords(),
      {
        log,
        liveBytes: () => engine.journalLiveBytes(),
        ...(options.repair ? { repair: true } : {}),
        ...(options.durable === false ? { sync: false } : {}),
        ...(options.compaction ? { compaction: options.compaction } : {}),
      },
    );
    dropInterruptedOutCollections(engine);
  }
  const clusterTimeBase = Math.floor(Date.now() / 1000);
  const changes = new ChangeLog({
    limit: options.changeStreamHistory ?? DEFAULT_CHANGE_HISTORY,
    clusterTimeBase,
    startClock: engine.clock,
  });
  engine.commitListener = changes;
  engine.warningLog = log;
  const state: ServerState = {
    engine,
    cursors: new CursorStore(),
    changes,
    sessions: new Map(),
    address: '',
    setName: REPLICA_SET_NAME,
    version: serverVersionProfile(options.version),
    electionId: new ObjectId('7fffffff0000000000000001'),
    startedAt: Date.now(),
    parameters: { transactionLifetimeLimitSeconds: 60 },
    clusterTimeBase,
    connections: () => ({ current: 0, available: 0, totalCreated: 0, active: 0 }),
    snapshotPins: new Map(),
    log,
    testCommandsEnabled: options.enableTestCommands === true,
    failPoints: new FailPoints(),
  };
  const server = new WireServer(state, {
    ...(options.maxIncomingConnections === undefined ? {} : { maxIncomingConnections: options.maxIncomingConnections }),
    ...(options.refusedConnectionLogIntervalMs === undefined
      ? {}
      : { refusedLogIntervalMs: options.refusedConnectionLogIntervalMs }),
  });
  let port: number;
  try {
    port = await server.listen(options.port ?? 0, host);
  } catch (err) {
    await engine.journal?.close();
    throw err;
  }
  const advertisedHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  state.address = `${advertisedHost}:${port}`;

  let lastTtl = Date.now();
  const sweeper = setInterval(() => {
    const now = Date.now();
    const limitMs = state.parameters.transactionLifetimeLimitSeconds * 1000;
    for (const txn of [...engine.activeTxns]) {
      if (now - txn.startedAt > limitMs)
        engine.abortTransaction(txn, 'transaction exceeded transactionLifetimeLimitSeconds');
    }
    state.cursors.sweep(now);
    for (const [key, s] of state.sessions) {
      if (now - s.lastUsed > SESSION_TIMEOUT_MS && s.txn?.state !== 'active') state.sessions.delete(key);
    }
    if (now - lastTtl >= TTL_INTERVAL_MS) {
      lastTtl = now;
      try {
        runTtlMonitor(engine);
      } catch (err) {
        log(`TTL monitor failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();

  let stopped: Promise<void> | undefined;
  return {
    uri: `mongodb://${state.address}/?replicaSet=${REPLICA_SET_NAME}`,
    port,
    version: state.version.release,
    stop() {
      stopped ??= (async () => {
        clearInterval(sweeper);
        await server.close();
        for (const txn of [...engine.activeTxns]) engine.abortTransaction(txn, 'server shutting down');
        state.cursors.clear();
        state.sessions.clear();
        if (engine.journal) {
          await engine.journal.close();
          engine.journal = undefined;
        }
      })();
      return stopped;
    },
  };
}
