/**
 * Read and write concerns of a single-node replica set: cluster time gossip (`operationTime`,
 * `$clusterTime`), snapshot reads (`readConcern: { level: 'snapshot', atClusterTime }`), and the
 * write concerns one node cannot satisfy.
 *
 * Cluster time is the storage engine's commit counter, carried in a BSON Timestamp whose seconds are
 * the server's start time: increasing within a run and across restarts.
 */
import { Binary, Long, Timestamp } from 'bson';
import { MongoCommandError } from '../bson/errors.ts';
import type { Doc, ReadView } from '../storage/engine.ts';
import type { CommandContext, CommandSpec, ServerState, SessionState } from './types.ts';

/** The current cluster time. */
export function clusterTime(state: ServerState): Timestamp {
  return new Timestamp({ t: state.clusterTimeBase, i: state.engine.clock });
}

/** The commit counter a cluster time stands for (its increment when it is from this run). */
function clockOf(state: ServerState, ts: unknown): number {
  if (!(ts instanceof Timestamp)) throw new MongoCommandError(14, "BSON field 'atClusterTime' must be a timestamp");
  if (ts.high < state.clusterTimeBase) return -1;
  if (ts.high > state.clusterTimeBase) return Number.POSITIVE_INFINITY;
  return ts.low;
}

/** The dummy signature of every `$clusterTime` (no auth here); only ever serialized, never changed. */
const CLUSTER_TIME_SIGNATURE = { hash: new Binary(Buffer.alloc(20)), keyId: Long.ZERO };

/** Adds `operationTime` and `$clusterTime` to a reply, as replica set members do. */
export function gossipClusterTime(state: ServerState, reply: Doc): Doc {
  const now = clusterTime(state);
  return {
    ...reply,
    operationTime: now,
    $clusterTime: { clusterTime: now, signature: CLUSTER_TIME_SIGNATURE },
  };
}

/**
 * Validates a command's read concern outside transactions and returns the view a snapshot read
 * uses (undefined: the latest state). A snapshot read pins its point in time on the session, so
 * later reads of the session at `atClusterTime` see the same data.
 */
export function readConcernView(ctx: CommandContext, spec: CommandSpec): ReadView | undefined {
  const rc = ctx.cmd.readConcern;
  if (rc === undefined) return undefined;
  if (typeof rc !== 'object' || rc === null)
    throw new MongoCommandError(14, "BSON field 'readConcern' is the wrong type, expected type 'object'");
  const { level, atClusterTime, afterClusterTime } = rc as Doc;
  if (level !== undefined && !['local', 'majority', 'available', 'linearizable', 'snapshot'].includes(String(level)))
    throw new MongoCommandError(9, `No such readConcern level: '${String(level)}'`);
  if (afterClusterTime !== undefined) clockOf(ctx.state, afterClusterTime); // type check; one node is never behind
  if (atClusterTime !== undefined && level !== 'snapshot')
    throw new MongoCommandError(72, 'atClusterTime is only allowed for snapshot read concern');
  if (level !== 'snapshot') return undefined;
  if (!spec.snapshotReads) {
    throw new MongoCommandError(
      72,
      `Command ${ctx.name} does not support { readConcern: { level: "snapshot" } } outside multi-document transactions`,
    );
  }
  const { engine } = ctx.state;
  if (atClusterTime === undefined) {
    const pin = engine.beginTransaction(-1);
    if (ctx.session) pinFor(ctx.state, ctx.session).push(pin);
    else engine.abortTransaction(pin, 'snapshot read without a session');
    return { snapshot: pin.snapshot };
  }
  const at = clockOf(ctx.state, atClusterTime);
  if (at >= engine.clock) return { snapshot: engine.clock };
  for (const pins of ctx.state.snapshotPins.values()) {
    if (pins.some((p) => p.snapshot <= at && p.state === 'active')) return { snapshot: at };
  }
  throw new MongoCommandError(
    239,
    `Read timestamp ${String(atClusterTime)} is older than the oldest available timestamp (snapshot history is kept while the session that read it is open, up to transactionLifetimeLimitSeconds).`,
  );
}

function pinFor(state: ServerState, session: SessionState): ReturnType<ServerState['engine']['beginTransaction']>[] {
  let pins = state.snapshotPins.get(session.key);
  if (!pins) {
    pins = [];
    state.snapshotPins.set(session.key, pins);
  }
  return pins;
}

/** Releases the history a session pinned for its snapshot reads. */
export function releaseSnapshots(state: ServerState, sessionKey: string): void {
  for (const pin of state.snapshotPins.get(sessionKey) ?? []) state.engine.abortTransaction(pin, 'session ended');
  state.snapshotPins.delete(sessionKey);
}

/** The `atClusterTime` a snapshot read reports (in `cursor` for find/aggregate, at the top for distinct). */
export function withAtClusterTime(state: ServerState, reply: Doc, view: ReadView): Doc {
  const at = new Timestamp({ t: state.clusterTimeBase, i: view.snapshot });
  if (typeof reply.cursor === 'object' && reply.cursor !== null)
    return { ...reply, cursor: { ...reply.cursor, atClusterTime: at } };
  return { ...reply, atClusterTime: at };
}

/**
 * The write concern error a single node reports after applying a write it cannot replicate as asked
 * (`w` above 1, or an unknown tag), or undefined.
 */
export function writeConcernError(cmd: Doc): Doc | undefined {
  const wc = cmd.writeConcern;
  if (typeof wc !== 'object' || wc === null) return undefined;
  const w = (wc as Doc).w;
  if (typeof w === 'number' && w > 1) {
    return {
      code: 100,
      codeName: 'UnsatisfiableWriteConcern',
      errmsg: 'Not enough data-bearing nodes',
      errInfo: { writeConcern: { ...wc, provenance: 'clientSupplied' } },
    };
  }
  if (typeof w === 'string' && w !== 'majority') {
    return {
      code: 79,
      codeName: 'UnknownReplWriteConcern',
      errmsg: `Unrecognized write concern mode: ${w}`,
      errInfo: { writeConcern: { ...wc, provenance: 'clientSupplied' } },
    };
  }
  return undefined;
}
