/**
 * The journal's on-disk format and its streamed, checked reader.
 *
 * A v1 journal is an 8-byte file magic followed by records. Each record is a 16-byte header
 * (record magic, payload length, CRC32 of the payload, CRC32 of the first 12 header bytes) and a
 * BSON payload `{ ops: [...] }`. The header has its own checksum so a damaged length is detected
 * as damage, never trusted (a flipped length byte must not make the rest of the file look like a
 * torn tail). CRC32 comes from node:zlib (`zlib.crc32`, native, present in Node ≥ 20.15 and 22.2),
 * so no dependency and no hand-written table are needed.
 *
 * A v0 journal (before this format) is a bare sequence of BSON documents, without checksums.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { calculateObjectSize, deserialize, serialize, setInternalBufferSize } from 'bson';

export const FILE_MAGIC = Buffer.from('EMJRNL\x00\x01', 'latin1');
const RECORD_MAGIC = 0x4a524543; // "CERJ" little-endian
export const RECORD_HEADER_BYTES = 16;
/** The largest record written or read (a bigger length in a header is damage). */
const MAX_PAYLOAD_BYTES = 1024 * 1024 * 1024;
const CHUNK_BYTES = 8 * 1024 * 1024;

/** Encodes one record (header + payload) from a payload document. */
export function encodeRecord(payload: Record<string, unknown>): Buffer {
  const body = serializeAnySize(payload);
  if (body.length > MAX_PAYLOAD_BYTES) throw new Error(`journal record of ${body.length} bytes is too large`);
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + body.length);
  out.writeUInt32LE(RECORD_MAGIC, 0);
  out.writeUInt32LE(body.length, 4);
  out.writeUInt32LE(crc32(body), 8);
  out.writeUInt32LE(crc32(out.subarray(0, 12)), 12);
  out.set(body, RECORD_HEADER_BYTES);
  return out;
}

let internalBufferBytes = 17 * 1024 * 1024; // js-bson's default

/**
 * `serialize` goes through js-bson's internal buffer (17 MiB by default), but one record can be
 * bigger (an insert of 48 MB, a large transaction): grow that buffer when needed.
 */
function serializeAnySize(payload: Record<string, unknown>): Uint8Array {
  try {
    return serialize(payload);
  } catch (err) {
    const size = calculateObjectSize(payload);
    if (size <= internalBufferBytes) throw err;
    internalBufferBytes = size + 1024 * 1024;
    setInternalBufferSize(internalBufferBytes);
    return serialize(payload);
  }
}

/** A positional reader over a file with one reusable chunk buffer (no whole-file reads). */
class ChunkReader {
  private store = Buffer.alloc(0);
  private view = Buffer.alloc(0);
  private start = 0;
  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  /** `len` bytes at `pos` (fewer at the end of the file); valid until the next call. */
  bytes(pos: number, len: number): Buffer {
    if (pos >= this.start && pos + len <= this.start + this.view.length)
      return this.view.subarray(pos - this.start, pos - this.start + len);
    const want = Math.max(0, Math.min(Math.max(len, CHUNK_BYTES), this.size - pos));
    if (this.store.length < want) this.store = Buffer.allocUnsafe(Math.max(want, CHUNK_BYTES));
    let got = 0;
    while (got < want) {
      const n = readSync(this.fd, this.store, got, want - got, pos + got);
      if (n === 0) break;
      got += n;
    }
    this.start = pos;
    this.view = this.store.subarray(0, got);
    return this.view.subarray(0, Math.min(len, got));
  }
}

type Check = { ok: true; end: number; payload: Buffer } | { ok: false; reason: string; end?: number };

/** Checks the v1 record starting at `pos`. */
function checkRecord(reader: ChunkReader, pos: number): Check {
  const header = reader.bytes(pos, RECORD_HEADER_BYTES);
  if (header.length < RECORD_HEADER_BYTES) return { ok: false, reason: 'incomplete record header' };
  if (header.readUInt32LE(0) !== RECORD_MAGIC) return { ok: false, reason: 'no record header' };
  if (header.readUInt32LE(12) !== crc32(header.subarray(0, 12)))
    return { ok: false, reason: 'record header checksum mismatch' };
  const len = header.readUInt32LE(4);
  const crc = header.readUInt32LE(8);
  if (len > MAX_PAYLOAD_BYTES) return { ok: false, reason: `implausible record length ${len}` };
  const end = pos + RECORD_HEADER_BYTES + len;
  if (end > reader.size) return { ok: false, reason: `record of ${len} bytes cut short by the end of the file` };
  const payload = reader.bytes(pos + RECORD_HEADER_BYTES, len);
  if (crc32(payload) !== crc) return { ok: false, reason: 'record checksum mismatch', end };
  return { ok: true, end, payload };
}

/** Offset of the first intact v1 record after `from`, or undefined (the damage is a torn tail). */
function nextIntactRecord(reader: ChunkReader, from: number): number | undefined {
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(RECORD_MAGIC, 0);
  let pos = from;
  while (pos < reader.size) {
    const chunk = reader.bytes(pos, CHUNK_BYTES);
    const hit = chunk.indexOf(magic);
    if (hit < 0) {
      if (chunk.length < 4) return undefined;
      pos += chunk.length - 3; // a magic may straddle two chunks
      continue;
    }
    const candidate = pos + hit;
    if (checkRecord(reader, candidate).ok) return candidate;
    pos = candidate + 1;
  }
  return undefined;
}

/** Where and why a journal is damaged before its end. */
export class JournalDamage {
  constructor(
    readonly path: string,
    readonly offset: number,
    readonly reason: string,
    /** File size, so callers can say how much lies after the damage. */
    readonly size: number,
    /** Intact records found after the damage (not loaded). */
    readonly recordsAfter: number,
  ) {}
}

/** Outcome of a scan. */
export interface ScanResult {
  format: 'v0' | 'v1' | 'empty';
  /** Bytes of good records (the file offset where a torn tail or damage starts, or the size). */
  goodBytes: number;
  size: number;
  records: number;
  /** A torn last record that was skipped. */
  torn?: { offset: number; bytes: number; reason: string };
  /** Damage before the end: records after it were not read. */
  damage?: JournalDamage;
}

function countIntactAfter(reader: ChunkReader, from: number): number {
  let n = 0;
  let pos: number | undefined = nextIntactRecord(reader, from);
  while (pos !== undefined) {
    n++;
    const c = checkRecord(reader, pos);
    pos = c.ok ? (c.end < reader.size ? nextIntactRecord(reader, c.end) : undefined) : undefined;
  }
  return n;
}

function scanV1(path: string, reader: ChunkReader, onPayload: (payload: Record<string, unknown>) => void): ScanResult {
  let pos = FILE_MAGIC.length;
  let records = 0;
  while (pos < reader.size) {
    const check = checkRecord(reader, pos);
    if (check.ok) {
      let payload: Record<string, unknown>;
      try {
        payload = deserialize(check.payload);
      } catch (err) {
        const why = `checksum is right but the payload is not BSON (${err instanceof Error ? err.message : err})`;
        return damaged(path, reader, pos, why, records, 'v1');
      }
      onPayload(payload);
      records++;
      pos = check.end;
      continue;
    }
    if (nextIntactRecord(reader, pos + 1) === undefined) {
      return {
        format: 'v1',
        goodBytes: pos,
        size: reader.size,
        records,
        torn: { offset: pos, bytes: reader.size - pos, reason: check.reason },
      };
    }
    return damaged(path, reader, pos, check.reason, records, 'v1');
  }
  return { format: 'v1', goodBytes: pos, size: reader.size, records };
}

function damaged(
  path: string,
  reader: ChunkReader,
  pos: number,
  reason: string,
  records: number,
  format: 'v0' | 'v1',
): ScanResult {
  const after = format === 'v1' ? countIntactAfter(reader, pos + 1) : 0;
  return {
    format,
    goodBytes: pos,
    size: reader.size,
    records,
    damage: new JournalDamage(path, pos, reason, reader.size, after),
  };
}

/**
 * v0 has no checksums, so a damaged length cannot be told from a crash: only a file that parses
 * exactly to its end is accepted; anything else is reported as damage at the first bad record.
 */
function scanV0(path: string, reader: ChunkReader, onPayload: (payload: Record<string, unknown>) => void): ScanResult {
  let pos = 0;
  let records = 0;
  while (pos < reader.size) {
    const head = reader.bytes(pos, 4);
    const len = head.length === 4 ? head.readInt32LE(0) : -1;
    if (len < 5 || pos + len > reader.size)
      return damaged(path, reader, pos, `old-format record with length ${len} does not fit the file`, records, 'v0');
    let doc: Record<string, unknown>;
    try {
      doc = deserialize(reader.bytes(pos, len));
    } catch (err) {
      const why = `old-format record is not BSON (${err instanceof Error ? err.message : err})`;
      return damaged(path, reader, pos, why, records, 'v0');
    }
    onPayload({ ops: [doc] });
    records++;
    pos += len;
  }
  return { format: 'v0', goodBytes: pos, size: reader.size, records };
}

/**
 * Reads the journal at `path` record by record, streamed in chunks, calling `onPayload` for every
 * intact record up to the first damage. Classifies what follows: nothing, a torn last record
 * (no intact record after it), or damage (intact records follow, so it is not a crash artefact).
 */
export function scanJournal(path: string, onPayload: (payload: Record<string, unknown>) => void): ScanResult {
  const fd = openSync(path, 'r');
  try {
    const reader = new ChunkReader(fd, fstatSync(fd).size);
    if (reader.size === 0) return { format: 'empty', goodBytes: 0, size: 0, records: 0 };
    const head = reader.bytes(0, FILE_MAGIC.length);
    if (head.equals(FILE_MAGIC)) return scanV1(path, reader, onPayload);
    if (FILE_MAGIC.subarray(0, head.length).equals(head)) {
      // A file cut inside its own magic: created, then killed before the first record.
      return {
        format: 'v1',
        goodBytes: 0,
        size: reader.size,
        records: 0,
        torn: { offset: 0, bytes: reader.size, reason: 'incomplete file header' },
      };
    }
    return scanV0(path, reader, onPayload);
  } finally {
    closeSync(fd);
  }
}
