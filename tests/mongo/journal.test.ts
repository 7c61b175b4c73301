import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Binary, serialize } from 'bson';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedMongo } from '#dev/mongo/index';
import { openJournal } from '#dev/mongo/storage/journal';
import { encodeRecord, FILE_MAGIC } from '#dev/mongo/storage/journal-format';
import { withServer } from '../support/restart.ts';

const JOURNAL = 'journal.bson';
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'embedded-journal-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Start offsets of the records of a v1 journal (after the 8-byte file magic). */
function recordOffsets(path: string): number[] {
  const buf = readFileSync(path);
  const offsets: number[] = [];
  for (let pos = 8; pos < buf.length; pos += 16 + buf.readUInt32LE(pos + 4)) offsets.push(pos);
  return offsets;
}

type Counter = { _id: string; v: number };
type Item = { _id: number; batch?: number };

/** A journal of `n` single inserts (`_id` 0..n-1), each its own record; returns its path. */
async function journalOfInserts(dir: string, n: number): Promise<string> {
  await withServer(dir, async (client) => {
    const coll = client.db('j').collection<Item>('items');
    for (let i = 0; i < n; i++) await coll.insertOne({ _id: i });
  });
  return join(dir, JOURNAL);
}

/** Flips the bits of one byte of a file (in place). */
function flipByte(path: string, offset: number, mask: number): void {
  const bytes = readFileSync(path);
  bytes[offset] = (bytes[offset] as number) ^ mask;
  writeFileSync(path, bytes);
}

describe('journal: torn tail and damage', () => {
  it('drops only the torn last record (one $inc), with one log line', async () => {
    const dir = tempDir();
    await withServer(dir, async (client) => {
      const coll = client.db('j').collection<Counter>('counters');
      await coll.insertOne({ _id: 'n', v: 0 });
      for (let i = 0; i < 69; i++) await coll.updateOne({ _id: 'n' }, { $inc: { v: 1 } });
    });
    const path = join(dir, JOURNAL);
    truncateSync(path, statSync(path).size - 7);
    const lines = await withServer(dir, async (client) => {
      expect(await client.db('j').collection<Counter>('counters').findOne({ _id: 'n' })).toEqual({ _id: 'n', v: 68 });
    });
    expect(lines.filter((l) => l.includes('torn last record'))).toHaveLength(1);
    expect(lines).toHaveLength(1);
    // The torn bytes were cut off, so the next start is clean.
    const again = await withServer(dir, async (client) => {
      expect(await client.db('j').collection<Counter>('counters').findOne({ _id: 'n' })).toEqual({ _id: 'n', v: 68 });
    });
    expect(again).toEqual([]);
  });

  it('keeps an insertMany whole: a torn last record drops the whole batch, nothing before it', async () => {
    const dir = tempDir();
    await withServer(dir, async (client) => {
      const coll = client.db('j').collection<Item>('items');
      await coll.insertMany([1, 2, 3, 4, 5].map((_id) => ({ _id, batch: 1 })));
      await coll.insertMany([6, 7, 8, 9, 10].map((_id) => ({ _id, batch: 2 })));
    });
    const path = join(dir, JOURNAL);
    const offsets = recordOffsets(path);
    truncateSync(path, (offsets[offsets.length - 1] as number) + 40); // inside the last record
    await withServer(dir, async (client) => {
      const ids = (await client.db('j').collection<Item>('items').find().toArray()).map((d) => d._id);
      expect(ids).toEqual([1, 2, 3, 4, 5]);
    });
  });

  it('journals a transaction bigger than the 17 MiB js-bson serialization buffer as one record', async () => {
    const dir = tempDir();
    const pad = 'z'.repeat(1024 * 1024);
    await withServer(dir, async (client) => {
      const coll = client.db('j').collection<Item & { pad: string }>('big');
      await coll.insertOne({ _id: -1, pad: '' });
      const session = client.startSession();
      try {
        await session.withTransaction(async () => {
          for (let _id = 0; _id < 20; _id++) await coll.insertOne({ _id, pad }, { session });
        });
      } finally {
        await session.endSession();
      }
    });
    await withServer(dir, async (client) => {
      expect(await client.db('j').collection('big').countDocuments()).toBe(21);
    });
    // snapshot, snapshotEnd, the insertOne, then the whole commit in one record of > 20 MB.
    const offsets = recordOffsets(join(dir, JOURNAL));
    expect(offsets).toHaveLength(4);
    expect(statSync(join(dir, JOURNAL)).size - (offsets[3] as number)).toBeGreaterThan(20 * 1024 * 1024);
  });

  for (const [what, at] of [
    ['a payload byte', 30],
    ['a length byte', 5],
  ] as const) {
    it(`refuses to start when ${what} in the middle is damaged, naming file and offset, file unchanged`, async () => {
      const dir = tempDir();
      const path = await journalOfInserts(dir, 100);
      const offsets = recordOffsets(path);
      const damaged = offsets[Math.floor(offsets.length / 2)] as number;
      flipByte(path, damaged + at, 0x5a);
      const before = sha256(path);

      const failure = await startEmbeddedMongo({ port: 0, dbPath: dir, log: () => {} }).then(
        async (s) => {
          await s.stop();
          return undefined;
        },
        (err: unknown) => err as Error,
      );
      expect(failure?.message).toContain(path);
      expect(failure?.message).toContain(`byte offset ${damaged}`);
      expect(failure?.message).toContain('--repair');
      expect(sha256(path)).toBe(before);
      expect(readdirSync(dir)).toEqual([JOURNAL]);
    });
  }

  /** The `_id`s in j.items after a start with `--repair` on `dir`, and the log lines. */
  async function repairedIds(dir: string): Promise<{ ids: number[]; lines: string[] }> {
    let ids: number[] = [];
    const lines = await withServer(
      dir,
      async (client) => {
        ids = (await client.db('j').collection<Item>('items').find().toArray()).map((d) => d._id);
        await client.db('j').collection<Item>('items').insertOne({ _id: 1000 });
      },
      { repair: true },
    );
    return { ids, lines };
  }
  const range = (n: number, without: number[] = []): number[] =>
    Array.from({ length: n }, (_, i) => i).filter((i) => !without.includes(i));

  it('--repair keeps every record but the one whose payload is damaged, says exactly which, keeps a copy', async () => {
    const dir = tempDir();
    const path = await journalOfInserts(dir, 50);
    const offsets = recordOffsets(path);
    // Records: snapshot, snapshotEnd, createCollection+put(0), put(1), ... → damage the put of _id 20.
    const damaged = offsets[22] as number;
    const bytes = (offsets[23] as number) - damaged;
    flipByte(path, damaged + 20, 0xff);
    const before = sha256(path);

    const { ids, lines } = await repairedIds(dir);
    expect(ids).toEqual(range(50, [20]));
    expect(lines.join('\n')).toContain(`damaged at byte offset ${damaged} (record checksum mismatch)`);
    expect(lines.join('\n')).toContain(
      `loaded all 51 intact record(s) (29 of them after the first damage); dropped 1 record(s) (${bytes} bytes) in 1 damaged stretch(es): at byte offset ${damaged}, ${bytes} bytes, 1 record(s) dropped`,
    );
    const aside = readdirSync(dir).filter((f) => f.startsWith(`${JOURNAL}.damaged-`));
    expect(aside).toHaveLength(1);
    expect(sha256(join(dir, aside[0] as string))).toBe(before);
    // The repaired journal is clean: a plain start works and has the write made after the repair.
    const again = await withServer(dir, async (client) => {
      expect(await client.db('j').collection<Item>('items').countDocuments()).toBe(50);
    });
    expect(again).toEqual([]);
  });

  it('a flipped byte in the 8-byte file header: refused naming offset 0, then --repair loads every record', async () => {
    const dir = tempDir();
    const path = await journalOfInserts(dir, 50);
    flipByte(path, 3, 0x10);
    const failure = await startEmbeddedMongo({ port: 0, dbPath: dir, log: () => {} }).catch((err: Error) => err);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toContain('damaged at byte offset 0 (file header damaged');
    expect((failure as Error).message).toContain('52 intact record(s) follow');

    const { ids, lines } = await repairedIds(dir);
    expect(ids).toEqual(range(50));
    expect(lines.join('\n')).toContain('loaded all 52 intact record(s)');
    expect(lines.join('\n')).toContain(
      'dropped 0 record(s) (8 bytes) in 1 damaged stretch(es): at byte offset 0, 8 bytes',
    );
  });

  it('a damaged record header: the record is kept when its payload matches its checksum, else exactly it is dropped', async () => {
    for (const [field, at, kept] of [
      ['record magic', 1, true],
      ['payload checksum', 9, false],
    ] as const) {
      const dir = tempDir();
      const path = await journalOfInserts(dir, 30);
      const offsets = recordOffsets(path);
      const damaged = offsets[12] as number; // the put of _id 10
      const bytes = (offsets[13] as number) - damaged;
      flipByte(path, damaged + at, 0x40);
      const { ids, lines } = await repairedIds(dir);
      expect(ids, field).toEqual(kept ? range(30) : range(30, [10]));
      expect(lines.join('\n'), field).toContain(
        `at byte offset ${damaged}, ${bytes} bytes, ${kept ? 'record mended' : '1 record(s) dropped'}`,
      );
    }
  });

  it('--repair does not take a journal record stored inside a document for one of the journal', async () => {
    // A document that holds the bytes of a whole, valid journal record (a client storing a
    // journal as binary data); the header of the record carrying it is then damaged, so repair
    // scans for the next record through that payload.
    const dir = tempDir();
    const put = (s: number, doc: Record<string, unknown>) => ({ op: 'put', db: 'j', name: 'items', doc, s });
    const ghost = encodeRecord({ ops: [put(99, { _id: 666 })] });
    const carrier = encodeRecord({ ops: [put(3, { _id: 1, blob: new Binary(ghost) })] });
    const records = [
      encodeRecord({
        ops: [{ op: 'createCollection', db: 'j', name: 'items', options: {}, s: 1 }, put(2, { _id: 0 })],
      }),
      carrier,
      encodeRecord({ ops: [put(4, { _id: 2 })] }),
      encodeRecord({ ops: [put(5, { _id: 3 })] }),
    ];
    const file = Buffer.concat([FILE_MAGIC, ...records]);
    const carrierAt = FILE_MAGIC.length + (records[0] as Buffer).length;
    file[carrierAt + 9] = (file[carrierAt + 9] as number) ^ 0x01; // its payload checksum: not mendable
    writeFileSync(join(dir, JOURNAL), file);
    const { ids, lines } = await repairedIds(dir);
    expect(ids).toEqual([0, 2, 3]);
    expect(lines.join('\n')).toContain(`at byte offset ${carrierAt}, ${carrier.length} bytes, 1 record(s) dropped`);
  });
});

describe('journal: compaction leftovers', () => {
  it('removes a journal.bson.compact left by an interrupted compaction at start, and the data is intact', async () => {
    const dir = tempDir();
    const path = await journalOfInserts(dir, 20);
    // What a crash mid-compaction leaves: a partial copy next to the intact journal.
    writeFileSync(`${path}.compact`, readFileSync(path).subarray(0, 300));
    const lines = await withServer(dir, async (client) => {
      expect(await client.db('j').collection<Item>('items').countDocuments()).toBe(20);
    });
    expect(lines.join('\n')).toContain(`removed ${path}.compact (300 bytes) left by an interrupted compaction`);
    expect(readdirSync(dir)).toEqual([JOURNAL]);
  });

  it('keeps a compaction leftover aside (never deletes it) when there is no journal next to it', async () => {
    const dir = tempDir();
    const path = join(dir, JOURNAL);
    writeFileSync(`${path}.compact`, Buffer.concat([FILE_MAGIC, encodeRecord({ ops: [] })]));
    const lines = await withServer(dir, async () => {});
    expect(lines.join('\n')).toContain('no journal but a compaction leftover');
    expect(readdirSync(dir).filter((f) => f.startsWith(`${JOURNAL}.compact-orphan-`))).toHaveLength(1);
  });
});

describe('journal: old format', () => {
  const oldRecord = (r: Record<string, unknown>): Buffer => Buffer.from(serialize(r));

  it('loads a journal of the previous format, converts it and keeps the old file as a backup', async () => {
    const dir = tempDir();
    const old = Buffer.concat([
      oldRecord({ op: 'createCollection', db: 'j', name: 'items', options: {} }),
      oldRecord({
        op: 'batch',
        ops: [1, 2, 3].map((_id) => ({ op: 'put', db: 'j', name: 'items', doc: { _id, v: 'old' } })),
      }),
      oldRecord({ op: 'batch', ops: [{ op: 'delete', db: 'j', name: 'items', id: 2 }] }),
    ]);
    writeFileSync(join(dir, JOURNAL), old);
    const lines = await withServer(dir, async (client) => {
      const docs = await client.db('j').collection<Item>('items').find().toArray();
      expect(docs).toEqual([
        { _id: 1, v: 'old' },
        { _id: 3, v: 'old' },
      ]);
    });
    expect(lines.join('\n')).toContain('converted from the old format (3 records)');
    expect(readFileSync(join(dir, `${JOURNAL}.v0-backup`)).equals(old)).toBe(true);
    expect(readFileSync(join(dir, JOURNAL)).subarray(0, 6).toString()).toBe('EMJRNL');
  });

  it('refuses an old-format journal that does not parse to its end (no checksums to tell a crash from damage)', async () => {
    const dir = tempDir();
    const good = oldRecord({ op: 'createCollection', db: 'j', name: 'items', options: {} });
    const cut = oldRecord({ op: 'batch', ops: [{ op: 'put', db: 'j', name: 'items', doc: { _id: 1 } }] });
    writeFileSync(join(dir, JOURNAL), Buffer.concat([good, cut.subarray(0, cut.length - 3)]));
    await expect(startEmbeddedMongo({ port: 0, dbPath: dir, log: () => {} })).rejects.toThrow(
      `byte offset ${good.length}`,
    );
  });
});

describe('journal: compaction', () => {
  it('compacts while clients keep writing, and the compacted journal has every write', async () => {
    const dir = tempDir();
    const expected = new Map<number, number>();
    const lines = await withServer(
      dir,
      async (client) => {
        const coll = client.db('j').collection<{ _id: number; v: number; pad: string }>('items');
        const pad = 'x'.repeat(2000);
        await Promise.all(
          [0, 1, 2, 3].map(async (w) => {
            for (let i = 0; i < 150; i++) {
              const _id = w * 10 + (i % 10);
              await coll.updateOne({ _id }, { $set: { v: i, pad } }, { upsert: true });
              expected.set(_id, i);
            }
          }),
        );
      },
      { compaction: { minDeadBytes: 200_000, deadFraction: 0.5 } },
    );
    expect(lines.some((l) => l.startsWith('journal compacted while running'))).toBe(true);
    // 600 writes of ~2 KB ≈ 1.2 MB were journaled; the live data is 40 documents.
    expect(statSync(join(dir, JOURNAL)).size).toBeLessThan(500_000);
    expect(existsSync(join(dir, `${JOURNAL}.compact`))).toBe(false);
    await withServer(dir, async (client) => {
      const docs = await client.db('j').collection<{ _id: number; v: number }>('items').find().toArray();
      expect(new Map(docs.map((d) => [d._id, d.v]))).toEqual(expected);
    });
  });
  it('does not compact a journal of live data however big, and does once updates leave most of it dead', async () => {
    const dir = tempDir();
    const pad = 'y'.repeat(2000);
    const compactions = (lines: string[]) => lines.filter((l) => l.startsWith('journal compacted while running'));
    // 300 inserts of ~2 KB, one record each: ~640 KB, all live (the old rule compacted past its size bound).
    const inserted = await withServer(
      dir,
      async (client) => {
        const coll = client.db('j').collection<{ _id: number; v: number; pad: string }>('items');
        for (let _id = 0; _id < 300; _id++) await coll.insertOne({ _id, v: 0, pad });
      },
      { compaction: { minDeadBytes: 100_000, deadFraction: 0.5 } },
    );
    expect(compactions(inserted)).toEqual([]);
    const liveSize = statSync(join(dir, JOURNAL)).size;
    expect(liveSize).toBeGreaterThan(600_000);
    // Rewriting every document twice makes two thirds of the file dead: now it compacts.
    const updated = await withServer(
      dir,
      async (client) => {
        const coll = client.db('j').collection<{ _id: number; v: number }>('items');
        for (const v of [1, 2]) for (let _id = 0; _id < 300; _id++) await coll.updateOne({ _id }, { $set: { v } });
      },
      { compaction: { minDeadBytes: 100_000, deadFraction: 0.5 } },
    );
    expect(compactions(updated).length).toBeGreaterThanOrEqual(1);
    // Without it the file would hold three versions of every document (~3 × liveSize).
    expect(statSync(join(dir, JOURNAL)).size).toBeLessThan(2 * liveSize);
    await withServer(dir, async (client) => {
      const docs = await client.db('j').collection<{ _id: number; v: number }>('items').find({ v: 2 }).toArray();
      expect(docs).toHaveLength(300);
    });
  });
});

describe('journal: group commit', () => {
  it('acknowledges a unit only once its record is on disk, and concurrent units share flushes', async () => {
    const dir = tempDir();
    const journal = await openJournal(
      dir,
      () => {},
      () => [],
      { log: () => {} },
    );
    const flushesBefore = journal.stats.flushes;
    const sizeBefore = statSync(join(dir, JOURNAL)).size;
    const acked: number[] = [];
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        journal
          .runUnit(async () => {
            journal.append({ op: 'put', db: 'j', name: 'c', doc: { _id: i } });
            journal.append({ op: 'put', db: 'j', name: 'c', doc: { _id: i + 1000 } });
          }, true)
          .then(() => {
            // Acknowledged: its record is in the file already.
            expect(statSync(join(dir, JOURNAL)).size).toBeGreaterThan(sizeBefore);
            acked.push(i);
          }),
      ),
    );
    await journal.close();
    expect(acked).toHaveLength(40);
    expect(journal.stats.records).toBe(40); // one record per unit, not per change
    expect(journal.stats.flushes - flushesBefore).toBeLessThan(40);
  });
});

describe('journal: replay order', () => {
  it('applies each change only if newer than the last one applied to its document or collection', async () => {
    // Records reach the file in unit completion order; `s` is the order the changes were applied.
    const put = (s: number, _id: number, v: string) => ({ op: 'put', db: 'j', name: 'c', doc: { _id, v }, s });
    const dir = tempDir();
    writeFileSync(
      join(dir, JOURNAL),
      Buffer.concat([
        FILE_MAGIC,
        encodeRecord({ ops: [{ op: 'createCollection', db: 'j', name: 'c', options: {}, s: 1 }] }),
        // A unit that deleted doc 1 (s=3) closed before the unit that had inserted it (s=2).
        encodeRecord({ ops: [{ op: 'delete', db: 'j', name: 'c', id: 1, s: 3 }, put(5, 2, 'new')] }),
        encodeRecord({ ops: [put(2, 1, 'old'), put(4, 2, 'old')] }),
        // A collection dropped (s=7) before an older unit's insert into it (s=6) reached the file.
        encodeRecord({ ops: [{ op: 'dropCollection', db: 'j', name: 'gone', s: 7 }] }),
        encodeRecord({ ops: [{ ...put(6, 9, 'x'), name: 'gone' }] }),
      ]),
    );
    await withServer(dir, async (client) => {
      expect(await client.db('j').collection('c').find().toArray()).toEqual([{ _id: 2, v: 'new' }]);
      expect((await client.db('j').listCollections().toArray()).map((c) => c.name)).toEqual(['c']);
    });
  });
});
