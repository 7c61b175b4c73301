/**
 * Durable persistence for the embedded server: an append-only journal of checked records
 * (format and reader in journal-format.ts).
 *
 * - Durable acknowledgement: every command runs as a "unit"; the changes it commits are collected
 *   into ONE record, and its reply waits until that record is written and fdatasync'ed. Writers
 *   that arrive while a flush is in progress are written and synced together by the next flush
 *   (group commit), so concurrent clients share fsyncs.
 * - Ordering: units close in completion order, which can differ from the order their changes
 *   became visible (two insertMany commands interleave at every await). Each change therefore
 *   carries a sequence number taken when it was applied in memory, and replay applies a change to
 *   a document/collection/index only if it is newer than the last change applied to it.
 * - Compaction writes a snapshot of the live state into a new file followed by the records
 *   appended meanwhile, fsyncs it, renames it over the journal and fsyncs the directory. It runs
 *   while serving (writers only wait for the final switch), only on a journal that loaded cleanly,
 *   and only once the dead bytes (file size minus the engine's live-size estimate) pay for it.
 * - A `journal.bson.compact` found at start is what an interrupted compaction left: the rename
 *   never happened (or was not made durable, and then no write was acknowledged after it), so
 *   `journal.bson` holds every acknowledged write and the leftover is removed.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  linkSync,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateObjectSize } from 'bson';
import { keyString } from '../bson/order.ts';
import type { IndexSpec } from './indexes.ts';
import {
  type DamagedStretch,
  encodeRecord,
  FILE_MAGIC,
  type JournalDamage,
  type ScanResult,
  scanJournal,
} from './journal-format.ts';

type Doc = Record<string, unknown>;

/** One journal entry. */
export type JournalRecord =
  | { op: 'createCollection'; db: string; name: string; options: Doc }
  | { op: 'setCollectionOptions'; db: string; name: string; options: Doc }
  | { op: 'dropCollection'; db: string; name: string }
  | { op: 'createIndex'; db: string; name: string; spec: IndexSpec }
  | { op: 'dropIndex'; db: string; name: string; index: string }
  | { op: 'renameCollection'; db: string; name: string; to: string }
  | { op: 'put'; db: string; name: string; doc: Doc }
  | { op: 'delete'; db: string; name: string; id: unknown }
  | { op: 'batch'; ops: JournalRecord[] };

type Change = Exclude<JournalRecord, { op: 'batch' }>;
/** A change as stored: with its sequence number (absent in snapshots and old-format journals). */
type StoredOp =
  | (Change & { s?: number })
  | { op: 'snapshot'; floor: number }
  | { op: 'snapshotEnd'; bytes: number }
  | { op: 'batch'; ops: StoredOp[] };

const JOURNAL_FILE = 'journal.bson';

/**
 * When to compact while running: once the dead bytes (file size minus the live-size estimate)
 * are at least `deadFraction` of the file and at least `minDeadBytes`. With the default 0.5,
 * a compaction rewrites at most as many live bytes as it reclaims (each appended byte is
 * rewritten about once at most) and the file stays under 2 × live + `minDeadBytes`; a journal
 * of live data only (inserts, however many) is never rewritten.
 */
export interface CompactionPolicy {
  minDeadBytes: number;
  deadFraction: number;
}
const DEFAULT_COMPACTION: CompactionPolicy = { minDeadBytes: 16 * 1024 * 1024, deadFraction: 0.5 };

/** Options of {@link openJournal}. */
export interface JournalOptions {
  /** Load what precedes damage instead of refusing to start (the damaged file is kept aside). */
  repair?: boolean;
  /** false = the old behaviour: no fsync, replies do not wait for the disk (benchmarks only). */
  sync?: boolean;
  compaction?: CompactionPolicy;
  /**
   * The bytes a compacted journal would need for the live state (Engine.journalLiveBytes).
   * Without it the journal never compacts while running.
   */
  liveBytes?: () => number;
  log: (line: string) => void;
}

/** The journal is damaged before its end; the server must not start on it. */
export class JournalCorruptError extends Error {
  readonly damage: JournalDamage;
  constructor(damage: JournalDamage) {
    const lost = damage.lost;
    const what =
      damage.format === 'v1'
        ? `it keeps a copy of the file aside and loads every intact record, dropping ${describeLoss(damage)}.`
        : `it keeps a copy of the file aside and loads only the records before offset ${damage.offset}, ` +
          `dropping the last ${lost.bytes} bytes (the old format has no checksums to find records after damage).`;
    super(
      `journal ${damage.path} is damaged at byte offset ${damage.offset} (${damage.reason}); ` +
        `${damage.recordsAfter} intact record(s) follow, so this is not a torn write from a crash. ` +
        `The file was not modified. To start anyway, restart with --repair (programmatically: repair: true): ${what}`,
    );
    this.name = 'JournalCorruptError';
    this.damage = damage;
  }
}

const STRETCHES_LISTED = 10;

/** "N record(s) (M bytes) in K damaged stretch(es): at byte offset O, B bytes, R record(s) (reason); …" */
export function describeLoss(damage: JournalDamage): string {
  const lost = damage.lost;
  const records = `${lost.exact ? '' : 'at least '}${lost.records} record(s)`;
  const one = (s: DamagedStretch): string =>
    `at byte offset ${s.offset}, ${s.bytes} bytes, ` +
    `${s.mended ? 'record mended' : `${s.exact ? '' : 'at least '}${s.records} record(s) dropped`} (${s.reason})`;
  const listed = damage.stretches.slice(0, STRETCHES_LISTED).map(one);
  if (damage.stretches.length > STRETCHES_LISTED) listed.push(`and ${damage.stretches.length - STRETCHES_LISTED} more`);
  return `${records} (${lost.bytes} bytes) in ${damage.stretches.length} damaged stretch(es): ${listed.join('; ')}`;
}

/** Decides which stored changes to apply, so replay ends in the state the changes' order implies. */
class ReplayFilter {
  maxSeq = 0;
  /** Snapshot horizon: every change numbered at or below it is already reflected in the snapshot. */
  private floor = 0;
  private readonly last = new Map<string, number>();
  private readonly droppedAt = new Map<string, number>();

  constructor(private readonly apply: (change: JournalRecord) => void) {}

  payload(payload: Doc): void {
    for (const op of (payload.ops ?? []) as StoredOp[]) this.op(op);
  }

  private op(op: StoredOp): void {
    switch (op.op) {
      case 'batch':
        for (const inner of op.ops) this.op(inner);
        return;
      case 'snapshot':
        this.floor = op.floor;
        this.maxSeq = Math.max(this.maxSeq, op.floor);
        this.last.clear();
        this.droppedAt.clear();
        return;
      case 'snapshotEnd':
        return; // the snapshot's size (written for diagnostics; compaction measures dead bytes instead)
    }
    // The stored op is applied as is: the engine ignores the extra sequence number `s`.
    const s = op.s;
    if (s === undefined) {
      this.apply(op); // snapshot or old format: plain file order
      return;
    }
    const ns = `${op.db}\0${op.name}`;
    if (op.op === 'renameCollection') {
      // Both namespaces change at once: older changes to either (reaching the file later) are void.
      const toNs = `${op.db}\0${op.to}`;
      if (s <= this.floor || s <= (this.droppedAt.get(ns) ?? 0) || s <= (this.droppedAt.get(toNs) ?? 0)) return;
      this.droppedAt.set(ns, s);
      this.droppedAt.set(toNs, s);
      this.maxSeq = Math.max(this.maxSeq, s);
      this.apply(op);
      return;
    }
    const target =
      op.op === 'put'
        ? `${ns}\0d${keyString(op.doc._id)}`
        : op.op === 'delete'
          ? `${ns}\0d${keyString(op.id)}`
          : op.op === 'createIndex'
            ? `${ns}\0i${op.spec.name}`
            : op.op === 'dropIndex'
              ? `${ns}\0i${op.index}`
              : ns;
    if (s <= this.floor || s <= (this.last.get(target) ?? 0) || s <= (this.droppedAt.get(ns) ?? 0)) return;
    this.last.set(target, s);
    if (op.op === 'dropCollection') this.droppedAt.set(ns, s);
    this.maxSeq = Math.max(this.maxSeq, s);
    this.apply(op);
  }
}

interface Unit {
  journal: Journal;
  ops: StoredOp[];
  closed: boolean;
}
const currentUnit = new AsyncLocalStorage<Unit>();

async function writeAll(fh: FileHandle, data: Buffer, position?: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(
      data,
      done,
      data.length - done,
      position === undefined ? null : position + done,
    );
    done += bytesWritten;
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

const SNAPSHOT_RECORD_BYTES = 1024 * 1024;
const COPY_CHUNK_BYTES = 4 * 1024 * 1024;

/** The append side of the journal: group-committed units, online compaction. */
export class Journal {
  private fh: FileHandle | undefined;
  private queue: Buffer[] = [];
  private waiters: Array<(err?: Error) => void> = [];
  private exclusive: Array<() => Promise<void>> = [];
  private running = false;
  private idleWaiters: Array<() => void> = [];
  private compacting: Promise<void> | undefined;
  private closing = false;
  /** Set once a write or fsync failed: nothing is acknowledged any more. */
  failed: Error | undefined;
  /** Bytes in the file (written, synced or in flight excluded). */
  fileBytes = 0;
  seq = 0;
  /** Flushes (write + fdatasync) and records written, to see group commit at work. */
  readonly stats = { flushes: 0, records: 0 };
  readonly path: string;
  readonly sync: boolean;
  private readonly policy: CompactionPolicy;
  private readonly liveBytes: () => number;
  private readonly log: (line: string) => void;

  constructor(
    readonly dir: string,
    private readonly snapshot: () => Iterable<JournalRecord>,
    options: JournalOptions,
  ) {
    this.path = join(dir, JOURNAL_FILE);
    this.sync = options.sync !== false;
    this.policy = options.compaction ?? DEFAULT_COMPACTION;
    this.liveBytes = options.liveBytes ?? (() => Number.POSITIVE_INFINITY);
    this.log = options.log;
  }

  /** Records a committed change (called synchronously by the engine when it applies the change). */
  append(record: JournalRecord): void {
    const ops: StoredOp[] = [];
    const flatten = (r: JournalRecord): void => {
      if (r.op === 'batch') for (const inner of r.ops) flatten(inner);
      else ops.push({ ...r, s: ++this.seq });
    };
    flatten(record);
    if (ops.length === 0) return;
    const unit = currentUnit.getStore();
    if (unit && unit.journal === this && !unit.closed) unit.ops.push(...ops);
    else this.enqueue(ops).catch(() => {}); // a failure is logged once and fails every later reply
  }

  /**
   * Runs one command as a unit: its changes become one record, and the returned promise settles
   * only once that record is durable. A command that changed nothing waits for what was queued
   * before it when `waitForEarlier` (a retried write must not be acknowledged before the original).
   */
  async runUnit<T>(fn: () => Promise<T>, waitForEarlier: boolean): Promise<T> {
    if (this.failed) throw this.failed;
    const unit: Unit = { journal: this, ops: [], closed: false };
    let durable: Promise<void> | undefined;
    let result: T;
    try {
      result = await currentUnit.run(unit, fn);
    } finally {
      unit.closed = true;
      if (unit.ops.length > 0) durable = this.enqueue(unit.ops);
      else if (waitForEarlier) durable = this.barrier();
    }
    if (durable && this.sync) await durable;
    else durable?.catch(() => {});
    return result;
  }

  /** Resolves once everything queued so far is durable. */
  barrier(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push((err) => (err ? reject(err) : resolve()));
      this.kick();
    });
  }

  private enqueue(ops: StoredOp[]): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    try {
      this.queue.push(encodeRecord({ ops }));
    } catch (err) {
      // The change is applied in memory but cannot be journaled: stop acknowledging anything.
      this.fail(err);
      return Promise.reject(this.failed);
    }
    return new Promise((resolve, reject) => {
      this.waiters.push((err) => (err ? reject(err) : resolve()));
      this.kick();
    });
  }

  private kick(): void {
    if (!this.running) void this.flushLoop();
  }

  /** Runs `step` between two flushes, with no write in progress. */
  private runExclusive(step: () => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.exclusive.push(() => step().then(resolve, reject));
      this.kick();
    });
  }

  private async flushLoop(): Promise<void> {
    this.running = true;
    try {
      for (;;) {
        const step = this.exclusive.shift();
        if (step) {
          await step();
          continue;
        }
        if (this.queue.length === 0 && this.waiters.length === 0) break;
        const batch = this.queue;
        const waiters = this.waiters;
        this.queue = [];
        this.waiters = [];
        try {
          if (this.failed) throw this.failed;
          if (batch.length > 0) {
            const data = batch.length === 1 ? (batch[0] as Buffer) : Buffer.concat(batch);
            if (!this.fh) throw new Error('journal is closed');
            await writeAll(this.fh, data);
            if (this.sync) await this.fh.datasync();
            this.fileBytes += data.length;
            this.stats.flushes++;
            this.stats.records += batch.length;
          }
          for (const w of waiters) w();
        } catch (err) {
          const error = this.fail(err);
          for (const w of waiters) w(error);
        }
      }
    } finally {
      this.running = false;
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
    this.compactIfBloated();
  }

  /** Marks the journal failed (once, with one log line) and returns the error. */
  private fail(err: unknown): Error {
    if (!this.failed) {
      this.failed = err instanceof Error ? err : new Error(String(err));
      this.log(`journal ${this.path}: write failed, no further write will be acknowledged: ${this.failed.message}`);
    }
    return this.failed;
  }

  private idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Estimated bytes of the file that a compaction would reclaim (file size minus live size). */
  deadBytes(): number {
    return Math.max(0, this.fileBytes - this.liveBytes());
  }

  /** Starts an online compaction once the dead bytes reach the policy's fraction and minimum. */
  compactIfBloated(): void {
    if (this.compacting || this.closing || this.failed) return;
    const dead = this.deadBytes();
    if (dead < this.policy.minDeadBytes || dead < this.policy.deadFraction * this.fileBytes) return;
    const before = this.fileBytes;
    const started = performance.now();
    this.compacting = this.compact(true)
      .then(
        () =>
          this.log(
            `journal compacted while running: ${before} → ${this.fileBytes} bytes (about ${dead} dead) in ${Math.round(performance.now() - started)} ms`,
          ),
        (err: unknown) => this.log(`journal compaction abandoned: ${err instanceof Error ? err.message : String(err)}`),
      )
      .finally(() => {
        this.compacting = undefined;
      });
  }

  /** Waits for any running compaction (tests and benchmarks). */
  async settled(): Promise<void> {
    await this.compacting;
    await this.idle();
  }

  /**
   * Writes the live state (plus, when `live`, the records appended meanwhile) to a new file and
   * renames it over the journal. Every step is fsynced before the rename, then the directory.
   */
  async compact(live: boolean): Promise<void> {
    const floor = this.seq;
    const tailFrom = this.fileBytes;
    const tmpPath = `${this.path}.compact`;
    const out = await open(tmpPath, 'w');
    let outClosed = false;
    let source: FileHandle | undefined;
    try {
      let written = 0;
      const write = async (buf: Buffer): Promise<void> => {
        await writeAll(out, buf, written);
        written += buf.length;
      };
      await write(FILE_MAGIC);
      await write(encodeRecord({ ops: [{ op: 'snapshot', floor }] }));
      let batch: StoredOp[] = [];
      let batchBytes = 0;
      for (const change of this.snapshot()) {
        batch.push(change);
        batchBytes += change.op === 'put' ? calculateObjectSize(change.doc) : 256;
        if (batchBytes >= SNAPSHOT_RECORD_BYTES) {
          if (live && this.closing) throw new Error('server stopping');
          await write(encodeRecord({ ops: batch }));
          batch = [];
          batchBytes = 0;
        }
      }
      if (batch.length > 0) await write(encodeRecord({ ops: batch }));
      const endSize = encodeRecord({ ops: [{ op: 'snapshotEnd', bytes: 0 }] }).length;
      const snapshotBytes = written + endSize;
      await write(encodeRecord({ ops: [{ op: 'snapshotEnd', bytes: snapshotBytes }] }));

      let copied = tailFrom;
      const copyTail = async (): Promise<void> => {
        if (!source) return;
        const chunk = Buffer.allocUnsafe(COPY_CHUNK_BYTES);
        while (copied < this.fileBytes) {
          const { bytesRead } = await source.read(
            chunk,
            0,
            Math.min(COPY_CHUNK_BYTES, this.fileBytes - copied),
            copied,
          );
          if (bytesRead === 0) throw new Error('journal shorter than expected while compacting');
          await write(chunk.subarray(0, bytesRead));
          copied += bytesRead;
        }
      };
      if (live && this.fh) {
        source = await open(this.path, 'r');
        // Copy most of what was appended meanwhile without holding writers up...
        for (let i = 0; i < 8 && this.fileBytes - copied > COPY_CHUNK_BYTES; i++) await copyTail();
      }
      await out.datasync();
      // ...then switch with no write in progress: the rest of the tail, fsync, rename, fsync the directory.
      const doSwitch = async (): Promise<void> => {
        if (this.failed) throw this.failed;
        await copyTail();
        await out.datasync();
        await out.close();
        outClosed = true;
        renameSync(tmpPath, this.path);
        fsyncDir(this.dir);
        await this.fh?.close();
        this.fh = await open(this.path, 'a');
        this.fileBytes = written;
      };
      if (live) await this.runExclusive(doSwitch);
      else await doSwitch();
    } catch (err) {
      if (!outClosed) await out.close().catch(() => {});
      if (existsSync(tmpPath)) await unlink(tmpPath).catch(() => {});
      throw err;
    } finally {
      await source?.close();
    }
  }

  /** Opens the existing (clean) file for appending. */
  async openForAppend(size: number): Promise<void> {
    this.fh = await open(this.path, 'a');
    this.fileBytes = size;
  }

  /** Waits for queued records and any compaction, then closes the file. */
  async close(): Promise<void> {
    this.closing = true;
    await this.compacting;
    await this.barrier().catch(() => {});
    await this.idle();
    await this.fh?.close();
    this.fh = undefined;
  }
}

/**
 * Removes what an interrupted compaction left (`journal.bson.compact`). Compaction renames that
 * file over the journal and fsyncs the directory before any later write is acknowledged, so while
 * `journal.bson` exists the leftover holds nothing the journal lacks. Without a journal it is kept
 * (moved aside), never deleted: it may be the only copy of something an older version left.
 */
function removeStaleCompaction(dir: string, path: string, log: (line: string) => void): void {
  const stale = `${path}.compact`;
  if (!existsSync(stale)) return;
  const bytes = statSync(stale).size;
  if (existsSync(path)) {
    unlinkSync(stale);
    log(
      `journal ${path}: removed ${stale} (${bytes} bytes) left by an interrupted compaction; the journal has every write`,
    );
  } else {
    const aside = `${stale}-orphan-${stamp()}`;
    renameSync(stale, aside);
    log(`journal ${path}: no journal but a compaction leftover (${bytes} bytes); moved it to ${aside}, starting empty`);
  }
  fsyncDir(dir);
}

/**
 * Loads the journal in `dir` into the engine (through `apply`) and returns the journal to append
 * to. A torn last record is dropped with one log line; damage before the end throws
 * {@link JournalCorruptError} (file untouched) unless `repair` is set. An old-format journal
 * (plain BSON documents) is loaded if it parses to its end, converted, and kept as `.v0-backup`.
 */
export async function openJournal(
  dir: string,
  apply: (change: JournalRecord) => void,
  snapshot: () => Iterable<JournalRecord>,
  options: JournalOptions,
): Promise<Journal> {
  mkdirSync(dir, { recursive: true });
  const journal = new Journal(dir, snapshot, options);
  const { path } = journal;
  const log = options.log;
  removeStaleCompaction(dir, path, log);
  const filter = new ReplayFilter(apply);
  let scan: ScanResult | undefined;
  if (existsSync(path)) scan = scanJournal(path, (payload) => filter.payload(payload));
  journal.seq = filter.maxSeq;

  let rewrite = !scan || scan.format === 'empty';
  if (scan?.damage) {
    if (!options.repair) throw new JournalCorruptError(scan.damage);
    // A second name for the damaged file, kept while the repaired journal is renamed over the
    // first: a crash during the repair leaves the damaged journal in place, never no journal.
    const aside = `${path}.damaged-${stamp()}`;
    linkSync(path, aside);
    fsyncDir(dir);
    const damage = scan.damage;
    log(
      damage.format === 'v1'
        ? `journal repair: ${path} is damaged at byte offset ${damage.offset} (${damage.reason}); kept a copy as ${aside}; ` +
            `loaded all ${scan.records} intact record(s) (${damage.recordsAfter} of them after the first damage); ` +
            `dropped ${describeLoss(damage)}` +
            (scan.torn ? `; and a torn last record at byte offset ${scan.torn.offset} (${scan.torn.bytes} bytes)` : '')
        : `journal repair: ${path} is damaged at byte offset ${damage.offset} (${damage.reason}); kept a copy as ${aside}; ` +
            `loaded the ${scan.records} record(s) before the damage; dropped the last ${damage.lost.bytes} bytes ` +
            '(old format: no checksums, so records after damage cannot be found)',
    );
    rewrite = true;
  } else if (scan?.torn) {
    log(
      `journal ${path}: dropped a torn last record at byte offset ${scan.torn.offset} ` +
        `(${scan.torn.bytes} bytes, ${scan.torn.reason}); it was never acknowledged`,
    );
    if (scan.goodBytes < FILE_MAGIC.length) rewrite = true;
    else {
      const fd = openSync(path, 'r+');
      try {
        ftruncateSync(fd, scan.goodBytes);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
  }
  if (scan?.format === 'v0' && !scan.damage) {
    let backup = `${path}.v0-backup`;
    if (existsSync(backup)) backup = `${backup}-${stamp()}`;
    linkSync(path, backup);
    log(`journal ${path}: converted from the old format (${scan.records} records); the old file is kept as ${backup}`);
    rewrite = true;
  }

  if (rewrite) await journal.compact(false);
  else {
    const size = (scan as ScanResult).goodBytes;
    await journal.openForAppend(size);
    journal.compactIfBloated();
  }
  return journal;
}
