/**
 * The journal's own rules, driven through openJournal with plain callbacks (no server): which
 * stored changes replay applies, how damage is described, what a start does to a torn or old
 * file, and when compaction starts. The server tests (journal.test.ts) show these end to end;
 * these pin each rule exactly and run in milliseconds.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open as openHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serialize } from 'bson';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  describeLoss,
  type Journal,
  JournalCorruptError,
  type JournalOptions,
  type JournalRecord,
  openJournal,
} from '#dev/mongo/storage/journal';
import { encodeRecord, FILE_MAGIC, scanJournal } from '#dev/mongo/storage/journal-format';

const JOURNAL = 'journal.bson';
const dirs: string[] = [];
const open: Journal[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  for (const journal of open.splice(0)) await journal.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'journal-open-'));
  dirs.push(dir);
  return dir;
}

/** Opens the journal in `dir`, collecting what replay applies and the log lines. */
async function load(
  dir: string,
  options: Partial<JournalOptions> = {},
  snapshot: () => Iterable<JournalRecord> = () => [],
): Promise<{ journal: Journal; applied: JournalRecord[]; lines: string[] }> {
  const applied: JournalRecord[] = [];
  const lines: string[] = [];
  const journal = await openJournal(dir, (c) => applied.push(c), snapshot, { log: (l) => lines.push(l), ...options });
  open.push(journal);
  return { journal, applied, lines };
}

function writeJournal(dir: string, payloads: Record<string, unknown>[]): string {
  const path = join(dir, JOURNAL);
  writeFileSync(path, Buffer.concat([FILE_MAGIC, ...payloads.map((p) => encodeRecord(p))]));
  return path;
}

const put = (s: number | undefined, name: string, _id: number, v = 'x') => ({
  op: 'put',
  db: 'j',
  name,
  doc: { _id, v },
  ...(s === undefined ? {} : { s }),
});
/** What replay applied, as short strings. */
const summary = (applied: JournalRecord[]): string[] =>
  applied.map((c) => {
    switch (c.op) {
      case 'put':
        return `put ${c.name}/${String(c.doc._id)}=${String(c.doc.v)}`;
      case 'delete':
        return `delete ${c.name}/${String(c.id)}`;
      case 'createIndex':
        return `createIndex ${c.name}.${c.spec.name}`;
      case 'dropIndex':
        return `dropIndex ${c.name}.${c.index}`;
      case 'renameCollection':
        return `rename ${c.name}->${c.to}`;
      default:
        return `${c.op} ${'name' in c ? c.name : ''}`;
    }
  });

describe('journal replay: which stored changes apply', () => {
  it('a rename voids older changes to either name that reach the file after it, and an older rename', async () => {
    const dir = tempDir();
    writeJournal(dir, [
      { ops: [{ op: 'renameCollection', db: 'j', name: 'a', to: 'b', s: 10 }] },
      // Older than the rename: to the old name, to the new name, and an older rename of the new name.
      { ops: [put(8, 'a', 1), put(9, 'b', 2)] },
      { ops: [{ op: 'renameCollection', db: 'j', name: 'b', to: 'c', s: 7 }] },
      { ops: [{ op: 'renameCollection', db: 'j', name: 'z', to: 'a', s: 6 }] },
      // Newer: applies.
      { ops: [put(11, 'b', 3)] },
    ]);
    const { applied, journal } = await load(dir);
    expect(summary(applied)).toEqual(['rename a->b', 'put b/3=x']);
    expect(journal.seq).toBe(11);
  });

  it('orders index changes by index name, and a dropped collection voids older changes to it', async () => {
    const dir = tempDir();
    const spec = (name: string) => ({ key: { v: 1 }, name });
    writeJournal(dir, [
      { ops: [{ op: 'dropIndex', db: 'j', name: 'c', index: 'v_1', s: 5 }] },
      { ops: [{ op: 'createIndex', db: 'j', name: 'c', spec: spec('v_1'), s: 4 }] },
      { ops: [{ op: 'createIndex', db: 'j', name: 'c', spec: spec('w_1'), s: 3 }] },
      { ops: [{ op: 'dropCollection', db: 'j', name: 'd', s: 9 }] },
      { ops: [{ op: 'createIndex', db: 'j', name: 'd', spec: spec('v_1'), s: 8 }] },
      { ops: [{ op: 'delete', db: 'j', name: 'd', id: 1, s: 7 }] },
      { ops: [put(12, 'd', 1, 'new'), put(2, 'c', 1, 'old')] },
    ]);
    const { applied } = await load(dir);
    expect(summary(applied)).toEqual([
      'dropIndex c.v_1',
      'createIndex c.w_1',
      'dropCollection d',
      'put d/1=new',
      'put c/1=old',
    ]);
  });

  it('orders a put and a delete of one document by sequence, not by file position', async () => {
    const dir = tempDir();
    writeJournal(dir, [
      { ops: [{ op: 'delete', db: 'j', name: 'c', id: 1, s: 6 }] },
      { ops: [put(5, 'c', 1, 'stale'), put(5, 'c', 2, 'same-s')] },
      { ops: [put(5, 'c', 2, 'same-s-again'), put(7, 'c', 1, 'fresh')] },
    ]);
    const { applied } = await load(dir);
    // An equal sequence number is not newer: the second put of s=5 to document 2 is void.
    expect(summary(applied)).toEqual(['delete c/1', 'put c/2=same-s', 'put c/1=fresh']);
  });

  it('after a snapshot, skips changes it already holds (at or below its floor) and forgets older orderings', async () => {
    const dir = tempDir();
    writeJournal(dir, [
      { ops: [put(30, 'c', 1, 'before-snapshot')] },
      { ops: [{ op: 'snapshot', floor: 20 }] },
      // Snapshot content has no sequence numbers: applied in file order.
      { ops: [put(undefined, 'c', 1, 'snap'), put(undefined, 'c', 2, 'snap')] },
      { ops: [{ op: 'snapshotEnd', bytes: 0 }] },
      // Tail copied after the snapshot: 20 is in it, 21 is not; 25 for document 1 applies even
      // though 30 was seen before the snapshot.
      { ops: [put(20, 'c', 2, 'old'), put(21, 'c', 2, 'tail'), { op: 'batch', ops: [put(25, 'c', 1, 'tail')] }] },
    ]);
    const { applied, journal } = await load(dir);
    expect(summary(applied)).toEqual([
      'put c/1=before-snapshot',
      'put c/1=snap',
      'put c/2=snap',
      'put c/2=tail',
      'put c/1=tail',
    ]);
    expect(journal.seq).toBe(30);
  });

  it('a snapshot with no change after it sets the sequence to its floor, and new changes number from there', async () => {
    const dir = tempDir();
    writeJournal(dir, [{ ops: [{ op: 'snapshot', floor: 41 }] }, { ops: [{ op: 'snapshotEnd', bytes: 0 }] }]);
    const { journal } = await load(dir);
    expect(journal.seq).toBe(41);
    await journal.runUnit(async () => journal.append(put(undefined, 'c', 1) as JournalRecord), true);
    const seen: number[] = [];
    scanJournal(join(dir, JOURNAL), (p) => {
      for (const op of p.ops as Array<{ s?: number }>) if (op.s !== undefined) seen.push(op.s);
    });
    expect(seen).toEqual([42]);
  });
});

describe('journal damage: how it is described', () => {
  /** A journal of `n` single-put records with the payloads of records `hit` damaged. */
  function damagedJournal(dir: string, n: number, hit: number[]): { path: string; offsets: number[] } {
    const records = Array.from({ length: n }, (_, i) => encodeRecord({ ops: [put(i + 1, 'c', i + 1)] }));
    const offsets: number[] = [];
    let at = FILE_MAGIC.length;
    for (const r of records) {
      offsets.push(at);
      at += r.length;
    }
    const file = Buffer.concat([FILE_MAGIC, ...records]);
    for (const i of hit) file[(offsets[i] as number) + 20] = (file[(offsets[i] as number) + 20] as number) ^ 0xff;
    const path = join(dir, JOURNAL);
    writeFileSync(path, file);
    return { path, offsets };
  }

  it('lists the first ten damaged stretches and counts the rest', async () => {
    const dir = tempDir();
    const hit = [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23];
    damagedJournal(dir, 26, hit);
    const error = await load(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JournalCorruptError);
    const { damage } = error as JournalCorruptError;
    const text = describeLoss(damage);
    expect(text).toMatch(/^12 record\(s\) \(\d+ bytes\) in 12 damaged stretch\(es\): at byte offset /);
    expect(text.split('; ')).toHaveLength(11);
    expect(text.endsWith('; and 2 more')).toBe(true);
    expect(text).not.toContain('at least');
    // Exactly ten: all listed, nothing counted.
    const ten = tempDir();
    damagedJournal(ten, 22, hit.slice(0, 10));
    const all = describeLoss(((await load(ten).catch((e: unknown) => e)) as JournalCorruptError).damage);
    expect(all.split('; ')).toHaveLength(10);
    expect(all).not.toContain('more');
  });

  it('says "at least" when a stretch cannot be counted exactly', async () => {
    const dir = tempDir();
    const { path, offsets } = damagedJournal(dir, 6, []);
    const file = readFileSync(path);
    // Two headers in a row: neither length is trusted.
    for (const i of [1, 2]) file[(offsets[i] as number) + 9] = (file[(offsets[i] as number) + 9] as number) ^ 1;
    writeFileSync(path, file);
    const error = (await load(dir).catch((e: unknown) => e)) as JournalCorruptError;
    const bytes = (offsets[3] as number) - (offsets[1] as number);
    expect(describeLoss(error.damage)).toBe(
      `at least 1 record(s) (${bytes} bytes) in 1 damaged stretch(es): at byte offset ${offsets[1]}, ${bytes} bytes, ` +
        'at least 1 record(s) dropped (record header checksum mismatch)',
    );
  });

  it('refuses a damaged journal with a message that says what --repair would drop, and names the error', async () => {
    const dir = tempDir();
    const { path, offsets } = damagedJournal(dir, 5, [2]);
    const error = (await load(dir).catch((e: unknown) => e)) as JournalCorruptError;
    expect(error.name).toBe('JournalCorruptError');
    expect(error.message).toBe(
      `journal ${path} is damaged at byte offset ${offsets[2]} (record checksum mismatch); 2 intact record(s) follow, ` +
        'so this is not a torn write from a crash. The file was not modified. To start anyway, restart with --repair ' +
        `(programmatically: repair: true): it keeps a copy of the file aside and loads every intact record, dropping ${describeLoss(error.damage)}.`,
    );
  });

  it('refuses a damaged old-format journal saying only the records before the damage can be kept', async () => {
    const dir = tempDir();
    const docs = [1, 2].map((n) => Buffer.from(serialize({ op: 'put', db: 'j', name: 'c', doc: { _id: n } })));
    const path = join(dir, JOURNAL);
    const file = Buffer.concat([...docs, Buffer.from([200, 0, 0, 0, 1, 2, 3])]);
    writeFileSync(path, file);
    const error = (await load(dir).catch((e: unknown) => e)) as JournalCorruptError;
    const at = (docs[0] as Buffer).length + (docs[1] as Buffer).length;
    expect(error.message).toContain(
      `it keeps a copy of the file aside and loads only the records before offset ${at}, dropping the last ${file.length - at} bytes (the old format has no checksums`,
    );
    const { applied, lines } = await load(dir, { repair: true });
    expect(applied).toHaveLength(2);
    expect(lines.join('\n')).toContain(
      `loaded the 2 record(s) before the damage; dropped the last ${file.length - at} bytes (old format: no checksums, so records after damage cannot be found)`,
    );
  });

  it('--repair names a torn last record it dropped besides the damage, and rewrites a clean journal', async () => {
    const dir = tempDir();
    const { path, offsets } = damagedJournal(dir, 6, [1]);
    const cut = statSync(path).size - 4;
    writeFileSync(path, readFileSync(path).subarray(0, cut));
    const { applied, lines } = await load(dir, { repair: true });
    expect(summary(applied)).toEqual(['put c/1=x', 'put c/3=x', 'put c/4=x', 'put c/5=x']);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('loaded all 4 intact record(s) (3 of them after the first damage)');
    expect(lines[0]).toContain(
      `; and a torn last record at byte offset ${offsets[5]} (${cut - (offsets[5] as number)} bytes)`,
    );
    expect(scanJournal(path, () => {}).damage).toBeUndefined();
  });
});

describe('journal start: torn and old files', () => {
  it('cuts a torn last record off the file (nothing else rewritten) and appends after the last good record', async () => {
    const dir = tempDir();
    const path = writeJournal(dir, [{ ops: [put(1, 'c', 1)] }, { ops: [put(2, 'c', 2)] }, { ops: [put(3, 'c', 3)] }]);
    const whole = readFileSync(path);
    const good = whole.length - encodeRecord({ ops: [put(3, 'c', 3)] }).length;
    writeFileSync(path, whole.subarray(0, whole.length - 5));
    const { journal, lines } = await load(dir);
    expect(lines).toEqual([
      `journal ${path}: dropped a torn last record at byte offset ${good} (${whole.length - 5 - good} bytes, ` +
        `record of ${whole.length - good - 16} bytes cut short by the end of the file); it was never acknowledged`,
    ]);
    expect(statSync(path).size).toBe(good);
    expect(readFileSync(path).equals(whole.subarray(0, good))).toBe(true);
    expect(journal.fileBytes).toBe(good);
    await journal.runUnit(async () => journal.append(put(undefined, 'c', 9) as JournalRecord), true);
    expect(journal.fileBytes).toBeGreaterThan(good);
    expect(statSync(path).size).toBe(journal.fileBytes);
  });

  it('a file cut inside its header is rewritten as a fresh journal holding the snapshot', async () => {
    const dir = tempDir();
    const path = join(dir, JOURNAL);
    writeFileSync(path, FILE_MAGIC.subarray(0, 5));
    const { journal, lines } = await load(dir, {}, () => [put(undefined, 'c', 7) as JournalRecord]);
    expect(lines[0]).toContain('dropped a torn last record at byte offset 0 (5 bytes, incomplete file header)');
    const replayed: JournalRecord[] = [];
    const result = scanJournal(path, (p) => replayed.push(...(p.ops as JournalRecord[])));
    expect(result.torn).toBeUndefined();
    expect(replayed.map((r) => r.op)).toEqual(['snapshot', 'put', 'snapshotEnd']);
    expect(journal.fileBytes).toBe(statSync(path).size);
  });

  it('keeps an old-format journal as a backup, under a new name when a backup already exists', async () => {
    const dir = tempDir();
    const path = join(dir, JOURNAL);
    const old = Buffer.from(serialize({ op: 'put', db: 'j', name: 'c', doc: { _id: 1 } }));
    writeFileSync(path, old);
    writeFileSync(`${path}.v0-backup`, 'an earlier backup');
    const { lines } = await load(dir);
    const backups = readdirSync(dir).filter((f) => f.startsWith(`${JOURNAL}.v0-backup-`));
    expect(backups).toHaveLength(1);
    expect(readFileSync(join(dir, backups[0] as string)).equals(old)).toBe(true);
    expect(readFileSync(`${path}.v0-backup`, 'utf8')).toBe('an earlier backup');
    expect(lines).toEqual([
      `journal ${path}: converted from the old format (1 records); the old file is kept as ${join(dir, backups[0] as string)}`,
    ]);
    expect(readFileSync(path).subarray(0, 8).equals(FILE_MAGIC)).toBe(true);
  });

  it('starts a fresh journal in a directory it creates', async () => {
    const dir = join(tempDir(), 'nested', 'db');
    const { journal, lines } = await load(dir);
    expect(lines).toEqual([]);
    expect(existsSync(join(dir, JOURNAL))).toBe(true);
    expect(journal.seq).toBe(0);
    expect(journal.fileBytes).toBe(statSync(join(dir, JOURNAL)).size);
  });
});

describe('journal compaction: when it starts', () => {
  /**
   * A journal whose dead bytes are exactly `dead` after each flush (liveBytes = file − dead),
   * with the given policy; appends one record and reports whether a compaction ran.
   */
  async function compactsWith(dead: number, minDeadBytes: number, deadFraction: number): Promise<boolean> {
    const dir = tempDir();
    let journal: Journal | undefined;
    const { journal: j, lines } = await load(dir, {
      compaction: { minDeadBytes, deadFraction },
      liveBytes: () => (journal ? journal.fileBytes - dead : Number.POSITIVE_INFINITY),
    });
    journal = j;
    await j.runUnit(async () => j.append(put(undefined, 'c', 1) as JournalRecord), true);
    await j.settled();
    return lines.some((l) => l.startsWith('journal compacted while running'));
  }

  it('compacts once the dead bytes reach both the minimum and the fraction of the file, not before', async () => {
    expect(await compactsWith(100, 100, 0)).toBe(true);
    expect(await compactsWith(99, 100, 0)).toBe(false);
    // The fraction: dead bytes equal to the whole file times 1 compact, one byte less does not.
    const dir = tempDir();
    const probe = await load(dir);
    await probe.journal.runUnit(async () => probe.journal.append(put(undefined, 'c', 1) as JournalRecord), true);
    const size = probe.journal.fileBytes;
    expect(await compactsWith(size, 0, 1)).toBe(true);
    expect(await compactsWith(size - 1, 0, 1)).toBe(false);
  });

  it('never compacts without a live-size estimate', async () => {
    const dir = tempDir();
    const { journal, lines } = await load(dir, { compaction: { minDeadBytes: 1, deadFraction: 0 } });
    for (let i = 0; i < 3; i++)
      await journal.runUnit(async () => journal.append(put(undefined, 'c', i) as JournalRecord), true);
    await journal.settled();
    expect(journal.deadBytes()).toBe(0);
    expect(lines).toEqual([]);
  });
});

describe('journal writes: failure and the no-sync mode', () => {
  /** FileHandle's prototype (the class is not exported), to spy on its datasync. */
  async function fileHandlePrototype(): Promise<{ datasync: () => Promise<void> }> {
    const handle = await openHandle(join(tempDir(), 'probe'), 'w');
    await handle.close();
    return Object.getPrototypeOf(handle) as { datasync: () => Promise<void> };
  }
  const change = (id: number) => put(undefined, 'c', id) as JournalRecord;

  it('a failed sync fails its unit and every later one, logged once, and nothing more is written', async () => {
    const dir = tempDir();
    const { journal, lines } = await load(dir);
    const proto = await fileHandlePrototype();
    vi.spyOn(proto, 'datasync').mockRejectedValueOnce(new Error('EIO: the disk went away'));
    await expect(journal.runUnit(async () => journal.append(change(1)), true)).rejects.toThrow('EIO');
    expect(journal.failed?.message).toBe('EIO: the disk went away');
    const size = statSync(join(dir, JOURNAL)).size;
    await expect(journal.runUnit(async () => journal.append(change(2)), true)).rejects.toThrow('EIO');
    await expect(journal.runUnit(async () => 'read only', false)).rejects.toThrow('EIO');
    await expect(journal.barrier()).rejects.toThrow('EIO');
    journal.append(change(3));
    await journal.settled();
    expect(statSync(join(dir, JOURNAL)).size).toBe(size);
    expect(lines).toEqual([
      `journal ${join(dir, JOURNAL)}: write failed, no further write will be acknowledged: EIO: the disk went away`,
    ]);
  });

  it('records queued while a failing sync is in flight are never written, and the failure is logged once', async () => {
    const dir = tempDir();
    const { journal, lines } = await load(dir);
    const proto = await fileHandlePrototype();
    let fail = (): void => {};
    const failed = new Promise<void>((resolve) => {
      fail = resolve;
    });
    const datasync = vi.spyOn(proto, 'datasync').mockImplementationOnce(async () => {
      await failed;
      throw new Error('EIO: the disk went away');
    });
    const first = journal.runUnit(async () => journal.append(change(1)), true);
    first.catch(() => {});
    while (datasync.mock.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    const size = statSync(join(dir, JOURNAL)).size;
    journal.append(change(2)); // queued behind the sync in flight
    fail();
    await expect(first).rejects.toThrow('EIO');
    await journal.settled();
    expect(statSync(join(dir, JOURNAL)).size).toBe(size);
    expect(lines).toHaveLength(1);
  });

  it('with sync off, writes the records but never syncs them', async () => {
    const dir = tempDir();
    const proto = await fileHandlePrototype();
    const datasync = vi.spyOn(proto, 'datasync');
    const { journal } = await load(dir, { sync: false });
    datasync.mockClear();
    await journal.runUnit(async () => journal.append(change(1)), true);
    await journal.settled();
    expect(datasync).not.toHaveBeenCalled();
    expect(journal.stats).toEqual({ flushes: 1, records: 1 });
    const ids: unknown[] = [];
    scanJournal(join(dir, JOURNAL), (p) => {
      for (const op of p.ops as Array<{ op: string; doc?: { _id: unknown } }>)
        if (op.op === 'put') ids.push(op.doc?._id);
    });
    expect(ids).toEqual([1]);
  });

  it('journals the changes of one unit as one record, batches flattened, and a unit with none as no record', async () => {
    const dir = tempDir();
    const { journal } = await load(dir);
    const before = journal.stats.records;
    await journal.runUnit(async () => {
      journal.append(change(1));
      journal.append({ op: 'batch', ops: [change(2), { op: 'batch', ops: [change(3)] }] });
      journal.append({ op: 'batch', ops: [] });
    }, true);
    await journal.runUnit(async () => {
      journal.append({ op: 'batch', ops: [] });
    }, true);
    journal.append({ op: 'batch', ops: [] });
    await journal.settled();
    expect(journal.stats.records - before).toBe(1);
    const units: number[][] = [];
    scanJournal(join(dir, JOURNAL), (p) => {
      const puts = (p.ops as Array<{ op: string; s?: number }>).filter((o) => o.op === 'put');
      if (puts.length > 0) units.push(puts.map((o) => o.s as number));
    });
    expect(units).toEqual([[1, 2, 3]]);
  });
});

describe('journal units: changes applied after the reply', () => {
  it('a change applied after its unit closed is journaled on its own, never lost', async () => {
    const dir = tempDir();
    const { journal } = await load(dir);
    let late: Promise<void> = Promise.resolve();
    await journal.runUnit(async () => {
      journal.append(put(undefined, 'c', 1) as JournalRecord);
      late = new Promise((resolve) =>
        setTimeout(() => {
          journal.append(put(undefined, 'c', 2) as JournalRecord);
          resolve();
        }, 5),
      );
    }, true);
    await late;
    await journal.settled();
    await journal.barrier();
    const ids: unknown[] = [];
    scanJournal(join(dir, JOURNAL), (p) => {
      for (const op of p.ops as Array<{ op: string; doc?: { _id: unknown } }>)
        if (op.op === 'put') ids.push(op.doc?._id);
    });
    expect(ids).toEqual([1, 2]);
  });
});
