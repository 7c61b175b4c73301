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

/**
 * Offset of the first intact v1 record at or after `from`, or undefined. Any record whose two
 * checksums hold counts, even one that may lie inside another record's payload: this is the
 * generous test that decides "damage" (refuse to start) over "torn tail" (drop silently).
 */
function nextIntactRecord(reader: ChunkReader, from: number, trusted = false): number | undefined {
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
    const check = checkRecord(reader, candidate);
    if (check.ok && (!trusted || check.end === reader.size || checkRecord(reader, check.end).ok)) return candidate;
    pos = candidate + 1;
  }
  return undefined;
}

/**
 * Where loading may resume after an unreadable stretch starting at `from`: the first intact record
 * that is followed by another intact record or by the end of the file. A lone record that a payload
 * happens to contain (a document holding journal bytes) is followed by the rest of that payload,
 * so it is not taken for a record of the journal; see the README for the residual risk.
 */
function nextTrustedRecord(reader: ChunkReader, from: number): number | undefined {
  return nextIntactRecord(reader, from, true);
}

/** A stretch of a v1 journal that could not be read as records (what `--repair` drops or mends). */
export interface DamagedStretch {
  offset: number;
  bytes: number;
  reason: string;
  /** Records lost in the stretch: exactly this many, or at least this many when `exact` is false. */
  records: number;
  exact: boolean;
  /** The record's header was damaged but its payload matched the checksum the header holds: loaded. */
  mended?: boolean;
}

/** Where and why a journal is damaged before its end. */
export class JournalDamage {
  constructor(
    readonly path: string,
    readonly format: 'v0' | 'v1',
    /** File size, so callers can say how much lies after the damage. */
    readonly size: number,
    /** The damaged stretches in file order (for v0: one, from the first bad record to the end). */
    readonly stretches: DamagedStretch[],
    /** Intact records after the first damage (loaded for v1; v0 cannot read past damage). */
    readonly recordsAfter: number,
  ) {}

  /** Byte offset of the first damage. */
  get offset(): number {
    return (this.stretches[0] as DamagedStretch).offset;
  }

  get reason(): string {
    return (this.stretches[0] as DamagedStretch).reason;
  }

  /** Records lost in all stretches, and whether that count is exact (else a lower bound). */
  get lost(): { records: number; exact: boolean; bytes: number } {
    let records = 0;
    let exact = true;
    let bytes = 0;
    for (const s of this.stretches) {
      records += s.records;
      exact &&= s.exact;
      if (!s.mended) bytes += s.bytes;
    }
    return { records, exact, bytes };
  }
}

/** Outcome of a scan. */
export interface ScanResult {
  format: 'v0' | 'v1' | 'empty';
  /** Bytes up to the end of the last intact record (where a torn tail starts), or the size. */
  goodBytes: number;
  size: number;
  /** Intact records loaded (for v1 also those after damage). */
  records: number;
  /** A torn last record that was skipped. */
  torn?: { offset: number; bytes: number; reason: string };
  /** Damage before the end (v1: every intact record around it was loaded; v0: none after it). */
  damage?: JournalDamage;
}

function parsePayload(payload: Buffer): Record<string, unknown> | string {
  try {
    return deserialize(payload);
  } catch (err) {
    return `checksum is right but the payload is not BSON (${err instanceof Error ? err.message : err})`;
  }
}

/**
 * An unreadable stretch [from, to) that starts with a damaged record header. If the payload
 * checksum the header holds matches the bytes up to `to` exactly, only the header was hit: the
 * record is mended (its payload is returned for loading). Otherwise the records in the stretch
 * are counted exactly when the stored length or the payload's own BSON length spans it, else
 * reported as at least one.
 */
function unreadableStretch(
  reader: ChunkReader,
  from: number,
  to: number,
  reason: string,
): { stretch: DamagedStretch; payload?: Record<string, unknown> } {
  const bytes = to - from;
  if (bytes > RECORD_HEADER_BYTES && bytes - RECORD_HEADER_BYTES <= MAX_PAYLOAD_BYTES) {
    const header = Buffer.from(reader.bytes(from, RECORD_HEADER_BYTES));
    const body = reader.bytes(from + RECORD_HEADER_BYTES, bytes - RECORD_HEADER_BYTES);
    const bsonLength = body.length >= 4 ? body.readInt32LE(0) : -1;
    if (crc32(body) === header.readUInt32LE(8)) {
      const payload = parsePayload(body);
      if (typeof payload !== 'string') {
        const why = `${reason}; its payload is intact (matches its checksum), so the record was kept`;
        return { stretch: { offset: from, bytes, reason: why, records: 0, exact: true, mended: true }, payload };
      }
    }
    const oneRecord =
      header.readUInt32LE(4) === bytes - RECORD_HEADER_BYTES || bsonLength === bytes - RECORD_HEADER_BYTES;
    return { stretch: { offset: from, bytes, reason, records: 1, exact: oneRecord } };
  }
  return { stretch: { offset: from, bytes, reason, records: 1, exact: false } };
}

/**
 * Reads v1 records from `start`, skipping past damage: a record whose header is intact but whose
 * payload is not has a known extent (exactly one record lost); a damaged header is skipped to the
 * next trusted record (see nextTrustedRecord). Damage with no intact record after it is a torn tail.
 */
function scanV1(
  path: string,
  reader: ChunkReader,
  onPayload: (payload: Record<string, unknown>) => void,
  start: number,
  stretches: DamagedStretch[],
): ScanResult {
  let pos = start;
  let records = 0;
  let recordsAfter = 0;
  const loaded = (payload: Record<string, unknown>): void => {
    onPayload(payload);
    records++;
    if (stretches.length > 0) recordsAfter++;
  };
  const result = (goodBytes: number, torn?: ScanResult['torn']): ScanResult => ({
    format: 'v1',
    goodBytes,
    size: reader.size,
    records,
    ...(torn ? { torn } : {}),
    ...(stretches.length > 0 ? { damage: new JournalDamage(path, 'v1', reader.size, stretches, recordsAfter) } : {}),
  });
  while (pos < reader.size) {
    const check = checkRecord(reader, pos);
    let reason: string;
    let knownEnd: number | undefined;
    if (check.ok) {
      const payload = parsePayload(check.payload);
      if (typeof payload !== 'string') {
        loaded(payload);
        pos = check.end;
        continue;
      }
      reason = payload;
      knownEnd = check.end;
    } else {
      reason = check.reason;
      knownEnd = check.end;
    }
    if (nextIntactRecord(reader, knownEnd ?? pos + 1) === undefined) {
      return result(pos, { offset: pos, bytes: reader.size - pos, reason });
    }
    if (knownEnd !== undefined) {
      // The header's own checksum holds, so its length does: exactly this one record is lost.
      stretches.push({ offset: pos, bytes: knownEnd - pos, reason, records: 1, exact: true });
      pos = knownEnd;
      continue;
    }
    const next = nextTrustedRecord(reader, pos + 1);
    if (next === undefined) {
      const why = `${reason}; the intact records after it could not be told from bytes inside a payload`;
      stretches.push({ offset: pos, bytes: reader.size - pos, reason: why, records: 1, exact: false });
      return result(pos);
    }
    const { stretch, payload } = unreadableStretch(reader, pos, next, reason);
    stretches.push(stretch);
    if (payload) loaded(payload);
    pos = next;
  }
  return result(pos);
}

function damagedV0(path: string, reader: ChunkReader, pos: number, reason: string, records: number): ScanResult {
  const stretch: DamagedStretch = { offset: pos, bytes: reader.size - pos, reason, records: 1, exact: false };
  return {
    format: 'v0',
    goodBytes: pos,
    size: reader.size,
    records,
    damage: new JournalDamage(path, 'v0', reader.size, [stretch], 0),
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
      return damagedV0(path, reader, pos, `old-format record with length ${len} does not fit the file`, records);
    let doc: Record<string, unknown>;
    try {
      doc = deserialize(reader.bytes(pos, len));
    } catch (err) {
      const why = `old-format record is not BSON (${err instanceof Error ? err.message : err})`;
      return damagedV0(path, reader, pos, why, records);
    }
    onPayload({ ops: [doc] });
    records++;
    pos += len;
  }
  return { format: 'v0', goodBytes: pos, size: reader.size, records };
}

/** How many of the 8 file-magic bytes differ from what a v1 journal starts with. */
function magicDistance(head: Buffer): number {
  let n = 0;
  for (let i = 0; i < FILE_MAGIC.length; i++) if (head[i] !== FILE_MAGIC[i]) n++;
  return n;
}

/**
 * Reads the journal at `path` record by record, streamed in chunks, calling `onPayload` for every
 * intact record, past any damage (see scanV1). Classifies what follows the last intact record:
 * nothing, or a torn last record; damage with intact records after it is reported as `damage`.
 * A v1 file whose 8-byte file header is damaged (at most 2 bytes differ, or an intact record
 * follows it) is read as v1 with that header as a damaged stretch of no record; an old v0 file
 * (a BSON length and the `op` field) differs from the v1 header in at least 6 bytes.
 */
export function scanJournal(path: string, onPayload: (payload: Record<string, unknown>) => void): ScanResult {
  const fd = openSync(path, 'r');
  try {
    const reader = new ChunkReader(fd, fstatSync(fd).size);
    if (reader.size === 0) return { format: 'empty', goodBytes: 0, size: 0, records: 0 };
    const head = Buffer.from(reader.bytes(0, FILE_MAGIC.length));
    if (head.equals(FILE_MAGIC)) return scanV1(path, reader, onPayload, FILE_MAGIC.length, []);
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
    if (head.length === FILE_MAGIC.length && (magicDistance(head) <= 2 || checkRecord(reader, FILE_MAGIC.length).ok)) {
      const reason = `file header damaged (${head.toString('hex')} instead of ${FILE_MAGIC.toString('hex')})`;
      const stretch: DamagedStretch = { offset: 0, bytes: FILE_MAGIC.length, reason, records: 0, exact: true };
      return scanV1(path, reader, onPayload, FILE_MAGIC.length, [stretch]);
    }
    return scanV0(path, reader, onPayload);
  } finally {
    closeSync(fd);
  }
}
