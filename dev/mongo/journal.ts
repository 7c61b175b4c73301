/**
 * Optional persistence: an append-only file of BSON records (each record is one BSON document,
 * which carries its own length), replayed at start and compacted to the live state at start and stop.
 * Writes go through an async stream (no fsync), so a crash can lose the last moments but never
 * leaves a half-applied record: a truncated tail is ignored when loading.
 */
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  type WriteStream,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize } from 'bson';
import type { IndexSpec } from './indexes.ts';

type Doc = Record<string, unknown>;

/** One journal entry. */
export type JournalRecord =
  | { op: 'createCollection'; db: string; name: string; options: Doc }
  | { op: 'dropCollection'; db: string; name: string }
  | { op: 'createIndex'; db: string; name: string; spec: IndexSpec }
  | { op: 'dropIndex'; db: string; name: string; index: string }
  | { op: 'put'; db: string; name: string; doc: Doc }
  | { op: 'delete'; db: string; name: string; id: unknown }
  | { op: 'batch'; ops: JournalRecord[] };

const FILE = 'journal.bson';

/** Reads every complete record of the journal in `dir` (none if it does not exist). */
export function readJournal(dir: string, log: (line: string) => void): JournalRecord[] {
  const path = join(dir, FILE);
  if (!existsSync(path)) return [];
  const buf = readFileSync(path);
  const out: JournalRecord[] = [];
  let offset = 0;
  while (offset + 5 <= buf.length) {
    const size = buf.readInt32LE(offset);
    if (size < 5 || offset + size > buf.length) break;
    try {
      out.push(deserialize(buf.subarray(offset, offset + size)) as JournalRecord);
    } catch {
      break;
    }
    offset += size;
  }
  if (offset < buf.length)
    log(`journal ${path}: ignored ${buf.length - offset} trailing bytes of an incomplete record`);
  return out;
}

/** Replaces the journal in `dir` with the given records (written to a temp file, then renamed). */
export function writeCompactedJournal(dir: string, records: Iterable<JournalRecord>): void {
  mkdirSync(dir, { recursive: true });
  const chunks: Buffer[] = [];
  for (const r of records) chunks.push(Buffer.from(serialize(r)));
  const tmp = join(dir, `${FILE}.tmp`);
  writeFileSync(tmp, Buffer.concat(chunks));
  renameSync(tmp, join(dir, FILE));
}

/** The append side of the journal. */
export class Journal {
  private stream: WriteStream;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.stream = createWriteStream(join(dir, FILE), { flags: 'a' });
  }

  append(record: JournalRecord): void {
    this.stream.write(serialize(record));
  }

  /** Flushes and closes the file. */
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.stream.once('error', reject);
      this.stream.end(() => resolve());
    });
  }
}
