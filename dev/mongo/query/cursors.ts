/**
 * Server-side cursors: query results are materialized when the cursor opens (which also pins the
 * reader's snapshot) and handed out in batches through getMore. Two kinds stay open when exhausted:
 * tailable cursors on capped collections (refilled from a `CursorTail`, tailable.ts) and change
 * streams (whose `TailableSource` produces each batch on demand and does its own waiting).
 */
import { calculateObjectSize, Long } from 'bson';
import { MAX_BSON_OBJECT_SIZE } from '../bson/limits.ts';

type Doc = Record<string, unknown>;

const DEFAULT_FIRST_BATCH = 101;
/** mongod closes cursors idle for 10 minutes (cursorTimeoutMillis). */
const CURSOR_TIMEOUT_MS = 10 * 60 * 1000;
/** Leave room for the reply envelope inside one 16 MiB reply document. */
const BATCH_BYTES = MAX_BSON_OBJECT_SIZE - 64 * 1024;

/** The producer behind a change stream's cursor. */
export interface TailableSource {
  /**
   * The next batch: at most `batchSize` documents, waiting up to `awaitMs` for the first one.
   * `extra` fields go into the cursor document (postBatchResumeToken); `closed` ends the cursor.
   */
  next(batchSize: number | undefined, awaitMs: number): Promise<{ batch: Doc[]; extra: Doc; closed: boolean }>;
}

interface OpenCursor {
  ns: string;
  /** A change stream's producer (every batch comes from it). */
  source?: TailableSource;
  docs: Doc[];
  pos: number;
  lastUsed: number;
  lsid: string | undefined;
  /** A tailable cursor's source of documents inserted since (tailable.ts); such a cursor stays open when exhausted. */
  tail?: CursorTail | undefined;
}

/** Where a tailable cursor's later batches come from. */
export interface CursorTail {
  next: () => Doc[];
  awaitData: boolean;
}

/** The `cursor` sub-document of a reply. */
export interface CursorReply {
  id: Long;
  ns: string;
  firstBatch?: Doc[];
  nextBatch?: Doc[];
  postBatchResumeToken?: unknown;
}

/** All open cursors of a server. */
export class CursorStore {
  private readonly open = new Map<number, OpenCursor>();

  private takeBatch(cursor: { docs: Doc[]; pos: number }, batchSize: number | undefined): Doc[] {
    const max = batchSize === undefined || batchSize <= 0 ? Number.POSITIVE_INFINITY : batchSize;
    const batch: Doc[] = [];
    let bytes = 0;
    while (cursor.pos < cursor.docs.length && batch.length < max) {
      const doc = cursor.docs[cursor.pos] as Doc;
      const size = calculateObjectSize(doc);
      if (batch.length > 0 && bytes + size > BATCH_BYTES) break;
      bytes += size;
      batch.push(doc);
      cursor.pos++;
    }
    return batch;
  }

  /** Opens a cursor over `docs` and returns the first batch (cursor id 0 when exhausted). */
  openCursor(
    ns: string,
    docs: Doc[],
    opts: {
      batchSize?: number | undefined;
      singleBatch?: boolean;
      lsid?: string | undefined;
      tail?: CursorTail | undefined;
    },
  ): CursorReply {
    const state = { docs, pos: 0 };
    const firstSize = opts.batchSize === undefined ? DEFAULT_FIRST_BATCH : opts.batchSize;
    const firstBatch = firstSize === 0 ? [] : this.takeBatch(state, firstSize);
    if (opts.singleBatch || (state.pos >= docs.length && !opts.tail)) {
      return { id: Long.ZERO, ns, firstBatch };
    }
    const id = this.newId();
    this.open.set(id, { ns, docs, pos: state.pos, lastUsed: Date.now(), lsid: opts.lsid, tail: opts.tail });
    return { id: Long.fromNumber(id), ns, firstBatch };
  }

  /** Registers a tailable cursor (its first batch is the caller's) and returns its id. */
  openTailable(ns: string, source: TailableSource, lsid: string | undefined): Long {
    const id = this.newId();
    this.open.set(id, { ns, source, docs: [], pos: 0, lastUsed: Date.now(), lsid });
    return Long.fromNumber(id);
  }

  private newId(): number {
    let id = 0;
    while (id === 0 || this.open.has(id)) id = Math.floor(Math.random() * 2 ** 52) + 1;
    return id;
  }

  /** Next batch of a cursor, or undefined if there is no such cursor. */
  getMore(
    id: number,
    ns: string,
    batchSize: number | undefined,
    awaitMs = 0,
  ): CursorReply | Promise<CursorReply> | 'wrong-ns' | undefined {
    const cursor = this.open.get(id);
    if (!cursor) return undefined;
    if (cursor.ns !== ns) return 'wrong-ns';
    cursor.lastUsed = Date.now();
    if (cursor.source) return this.sourceBatch(id, cursor, cursor.source, batchSize, awaitMs);
    if (cursor.tail && cursor.pos >= cursor.docs.length) {
      try {
        cursor.docs = cursor.tail.next();
      } catch (err) {
        this.open.delete(id); // mongod kills a tailable cursor that lost its position
        throw err;
      }
      cursor.pos = 0;
    }
    const nextBatch = this.takeBatch(cursor, batchSize);
    if (cursor.pos >= cursor.docs.length && !cursor.tail) {
      this.open.delete(id);
      return { id: Long.ZERO, ns, nextBatch };
    }
    return { id: Long.fromNumber(id), ns, nextBatch };
  }

  /**
   * How a getMore on this cursor waits for data: `source` (a change stream waits by itself),
   * `poll` (a tailable awaitData cursor on a capped collection), false (it never waits), or
   * undefined when there is no such cursor.
   */
  awaitMode(id: number): 'source' | 'poll' | false | undefined {
    const cursor = this.open.get(id);
    if (!cursor) return undefined;
    if (cursor.source) return 'source';
    return cursor.tail?.awaitData === true ? 'poll' : false;
  }

  private async sourceBatch(
    id: number,
    cursor: OpenCursor,
    source: TailableSource,
    batchSize: number | undefined,
    awaitMs: number,
  ): Promise<CursorReply> {
    const { batch, extra, closed } = await source.next(batchSize, awaitMs);
    cursor.lastUsed = Date.now();
    if (closed) this.open.delete(id);
    return { id: closed ? Long.ZERO : Long.fromNumber(id), ns: cursor.ns, nextBatch: batch, ...extra };
  }

  kill(id: number): boolean {
    return this.open.delete(id);
  }

  /** Closes the cursors of ended sessions. */
  killForSession(lsid: string): void {
    for (const [id, c] of this.open) if (c.lsid === lsid) this.open.delete(id);
  }

  /** Drops cursors idle for longer than mongod's cursor timeout. */
  sweep(now: number): void {
    for (const [id, c] of this.open) if (now - c.lastUsed > CURSOR_TIMEOUT_MS) this.open.delete(id);
  }

  clear(): void {
    this.open.clear();
  }
}
