/**
 * The journal's file format and its reader, on files built byte by byte (no server): what a scan
 * loads, where it says a torn tail starts, and how it counts and names damage. These are the facts
 * a start (refuse, repair, truncate) is decided on, so each is pinned exactly.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { serialize } from 'bson';
import { afterEach, describe, expect, it } from 'vitest';
import {
  encodeRecord,
  FILE_MAGIC,
  RECORD_HEADER_BYTES,
  type ScanResult,
  scanJournal,
} from '#dev/mongo/storage/journal-format';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Writes `bytes` as a journal file and scans it; returns the result and the payloads loaded. */
function scan(bytes: Buffer): { result: ScanResult; payloads: Record<string, unknown>[]; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'journal-format-'));
  dirs.push(dir);
  const path = join(dir, 'journal.bson');
  writeFileSync(path, bytes);
  const payloads: Record<string, unknown>[] = [];
  const result = scanJournal(path, (p) => payloads.push(p));
  return { result, payloads, path };
}

const record = (n: number): Buffer => encodeRecord({ ops: [{ op: 'put', db: 'j', name: 'c', doc: { _id: n }, s: n }] });
const idsOf = (payloads: Record<string, unknown>[]): unknown[] =>
  payloads.map((p) => ((p.ops as Array<{ doc: { _id: unknown } }>)[0] as { doc: { _id: unknown } }).doc._id);

/** A journal of records 1..n and where each record starts. */
function journalOf(n: number): { file: Buffer; offsets: number[]; records: Buffer[] } {
  const records = Array.from({ length: n }, (_, i) => record(i + 1));
  const offsets: number[] = [];
  let at = FILE_MAGIC.length;
  for (const r of records) {
    offsets.push(at);
    at += r.length;
  }
  return { file: Buffer.concat([FILE_MAGIC, ...records]), offsets, records };
}

describe('journal format: a record', () => {
  it('is a 16-byte header (magic, payload length, payload CRC32, header CRC32) and the BSON payload', () => {
    const payload = { ops: [{ op: 'delete', db: 'j', name: 'c', id: 7, s: 3 }] };
    const bytes = encodeRecord(payload);
    const body = Buffer.from(serialize(payload));
    expect(RECORD_HEADER_BYTES).toBe(16);
    expect(bytes.length).toBe(16 + body.length);
    expect(bytes.readUInt32LE(0)).toBe(0x4a524543);
    expect(bytes.readUInt32LE(4)).toBe(body.length);
    expect(bytes.readUInt32LE(8)).toBe(crc32(body));
    expect(bytes.readUInt32LE(12)).toBe(crc32(bytes.subarray(0, 12)));
    expect(bytes.subarray(16).equals(body)).toBe(true);
    expect(FILE_MAGIC.toString('latin1')).toBe('EMJRNL\x00\x01');
  });
});

describe('journal format: clean files and torn tails', () => {
  it('an empty file is an empty journal', () => {
    expect(scan(Buffer.alloc(0)).result).toEqual({ format: 'empty', goodBytes: 0, size: 0, records: 0 });
  });

  it('loads every record of an intact journal, in order, and reports its whole size as good', () => {
    const { file } = journalOf(5);
    const { result, payloads } = scan(file);
    expect(result).toEqual({ format: 'v1', goodBytes: file.length, size: file.length, records: 5 });
    expect(idsOf(payloads)).toEqual([1, 2, 3, 4, 5]);
  });

  it('a file cut inside its own 8-byte header is a torn header (created, then killed), not damage', () => {
    for (const keep of [1, 5, 7]) {
      const { result, payloads } = scan(FILE_MAGIC.subarray(0, keep));
      expect(result, `${keep} bytes`).toEqual({
        format: 'v1',
        goodBytes: 0,
        size: keep,
        records: 0,
        torn: { offset: 0, bytes: keep, reason: 'incomplete file header' },
      });
      expect(payloads).toEqual([]);
    }
  });

  it('a last record cut short is a torn tail: everything before it loads and it is named with its size', () => {
    const { file, offsets, records } = journalOf(4);
    const last = offsets[3] as number;
    const payloadBytes = (records[3] as Buffer).length - 16;
    const { result, payloads } = scan(file.subarray(0, file.length - 3));
    expect(idsOf(payloads)).toEqual([1, 2, 3]);
    expect(result).toEqual({
      format: 'v1',
      goodBytes: last,
      size: file.length - 3,
      records: 3,
      torn: {
        offset: last,
        bytes: file.length - 3 - last,
        reason: `record of ${payloadBytes} bytes cut short by the end of the file`,
      },
    });
  });

  it('a last record cut inside its header is a torn tail too', () => {
    const { file, offsets } = journalOf(3);
    const last = offsets[2] as number;
    const { result } = scan(file.subarray(0, last + 15));
    expect(result.torn).toEqual({ offset: last, bytes: 15, reason: 'incomplete record header' });
    expect(result.goodBytes).toBe(last);
    expect(result.records).toBe(2);
    expect(result.damage).toBeUndefined();
  });

  it('a damaged last record (no intact record after it) is a torn tail, whatever the damage', () => {
    const { file, offsets } = journalOf(3);
    const last = offsets[2] as number;
    const payloadHit = Buffer.from(file);
    payloadHit[last + 20] = (payloadHit[last + 20] as number) ^ 0xff;
    expect(scan(payloadHit).result.torn).toEqual({
      offset: last,
      bytes: file.length - last,
      reason: 'record checksum mismatch',
    });
    const magicHit = Buffer.from(file);
    magicHit[last] = (magicHit[last] as number) ^ 0x01;
    expect(scan(magicHit).result.torn).toEqual({ offset: last, bytes: file.length - last, reason: 'no record header' });
    const headerHit = Buffer.from(file);
    headerHit[last + 13] = (headerHit[last + 13] as number) ^ 0x01;
    expect(scan(headerHit).result.torn).toEqual({
      offset: last,
      bytes: file.length - last,
      reason: 'record header checksum mismatch',
    });
  });
});

describe('journal format: damage before the end', () => {
  it('a damaged payload with intact records after it: exactly that record is lost, every other one loads', () => {
    const { file, offsets, records } = journalOf(6);
    const hit = offsets[2] as number;
    const damaged = Buffer.from(file);
    damaged[hit + 20] = (damaged[hit + 20] as number) ^ 0xff;
    const { result, payloads, path } = scan(damaged);
    expect(idsOf(payloads)).toEqual([1, 2, 4, 5, 6]);
    expect(result.records).toBe(5);
    expect(result.goodBytes).toBe(file.length);
    expect(result.torn).toBeUndefined();
    const damage = result.damage;
    expect(damage?.path).toBe(path);
    expect(damage?.format).toBe('v1');
    expect(damage?.size).toBe(file.length);
    expect(damage?.offset).toBe(hit);
    expect(damage?.reason).toBe('record checksum mismatch');
    expect(damage?.recordsAfter).toBe(3);
    expect(damage?.stretches).toEqual([
      {
        offset: hit,
        bytes: (records[2] as Buffer).length,
        reason: 'record checksum mismatch',
        records: 1,
        exact: true,
      },
    ]);
    expect(damage?.lost).toEqual({ records: 1, exact: true, bytes: (records[2] as Buffer).length });
  });

  it('a damaged record magic whose payload still matches its checksum is mended (loaded, no bytes lost)', () => {
    const { file, offsets, records } = journalOf(5);
    const hit = offsets[1] as number;
    const damaged = Buffer.from(file);
    damaged[hit + 1] = (damaged[hit + 1] as number) ^ 0x40;
    const { result, payloads } = scan(damaged);
    expect(idsOf(payloads)).toEqual([1, 2, 3, 4, 5]);
    expect(result.records).toBe(5);
    expect(result.damage?.recordsAfter).toBe(4);
    expect(result.damage?.stretches).toEqual([
      {
        offset: hit,
        bytes: (records[1] as Buffer).length,
        reason: 'no record header; its payload is intact (matches its checksum), so the record was kept',
        records: 0,
        exact: true,
        mended: true,
      },
    ]);
    expect(result.damage?.lost).toEqual({ records: 0, exact: true, bytes: 0 });
  });

  it('a damaged header over a damaged payload: the stretch up to the next trusted record is one record, exactly', () => {
    const { file, offsets, records } = journalOf(5);
    const hit = offsets[1] as number;
    const damaged = Buffer.from(file);
    damaged[hit + 9] = (damaged[hit + 9] as number) ^ 0x40; // the payload checksum the header holds
    const { result, payloads } = scan(damaged);
    expect(idsOf(payloads)).toEqual([1, 3, 4, 5]);
    expect(result.damage?.stretches).toEqual([
      {
        offset: hit,
        bytes: (records[1] as Buffer).length,
        reason: 'record header checksum mismatch',
        records: 1,
        exact: true,
      },
    ]);
  });

  it('counts a stretch of two damaged records as at least one record, and adds up every stretch', () => {
    const { file, offsets, records } = journalOf(8);
    const damaged = Buffer.from(file);
    // Records 2 and 3: both headers hit, so neither length can be trusted.
    for (const i of [1, 2]) damaged[(offsets[i] as number) + 9] = (damaged[(offsets[i] as number) + 9] as number) ^ 1;
    // Record 6: its payload only, so exactly it is lost.
    damaged[(offsets[5] as number) + 20] = (damaged[(offsets[5] as number) + 20] as number) ^ 1;
    const { result, payloads } = scan(damaged);
    expect(idsOf(payloads)).toEqual([1, 4, 5, 7, 8]);
    const first = (records[1] as Buffer).length + (records[2] as Buffer).length;
    expect(result.damage?.stretches).toEqual([
      { offset: offsets[1], bytes: first, reason: 'record header checksum mismatch', records: 1, exact: false },
      {
        offset: offsets[5],
        bytes: (records[5] as Buffer).length,
        reason: 'record checksum mismatch',
        records: 1,
        exact: true,
      },
    ]);
    expect(result.damage?.lost).toEqual({ records: 2, exact: false, bytes: first + (records[5] as Buffer).length });
    expect(result.damage?.offset).toBe(offsets[1]);
    expect(result.damage?.recordsAfter).toBe(4);
  });

  it('a record whose checksum holds but whose payload is not BSON is damage, named as such', () => {
    const { file, offsets } = journalOf(3);
    const body = Buffer.from([9, 0, 0, 0, 0x7f, 0x41, 0, 0, 0]); // length 9, an unknown element type
    const header = Buffer.alloc(16);
    header.writeUInt32LE(0x4a524543, 0);
    header.writeUInt32LE(body.length, 4);
    header.writeUInt32LE(crc32(body), 8);
    header.writeUInt32LE(crc32(header.subarray(0, 12)), 12);
    const at = offsets[1] as number;
    const bytes = Buffer.concat([file.subarray(0, at), header, body, file.subarray(at)]);
    const { result, payloads } = scan(bytes);
    expect(idsOf(payloads)).toEqual([1, 2, 3]);
    const stretch = result.damage?.stretches[0];
    expect(stretch?.offset).toBe(at);
    expect(stretch?.bytes).toBe(16 + body.length);
    expect(stretch?.reason).toMatch(/^checksum is right but the payload is not BSON \(.+\)$/);
    expect(stretch?.exact).toBe(true);
  });

  it('a header claiming more than 1 GiB is damage (never a torn tail to cut), even with a valid header checksum', () => {
    const { file, offsets } = journalOf(3);
    const header = Buffer.alloc(16);
    header.writeUInt32LE(0x4a524543, 0);
    header.writeUInt32LE(1024 * 1024 * 1024 + 1, 4);
    header.writeUInt32LE(0, 8);
    header.writeUInt32LE(crc32(header.subarray(0, 12)), 12);
    const at = offsets[1] as number;
    const { result, payloads } = scan(Buffer.concat([file.subarray(0, at), header, file.subarray(at)]));
    expect(idsOf(payloads)).toEqual([1, 2, 3]);
    expect(result.damage?.reason).toBe(`implausible record length ${1024 * 1024 * 1024 + 1}`);
  });
});

describe('journal format: the file header', () => {
  it('a header with one or two bytes changed is a damaged v1 header (no record lost); three is no v1 header', () => {
    const { file } = journalOf(3);
    for (const changed of [1, 2]) {
      const bytes = Buffer.from(file);
      for (let i = 0; i < changed; i++) bytes[i] = (bytes[i] as number) ^ 0x20;
      // The first record damaged too, so only the byte count can make this v1.
      bytes[8] = (bytes[8] as number) ^ 0x01;
      const { result } = scan(bytes);
      expect(result.format, `${changed} bytes`).toBe('v1');
      expect(result.damage?.stretches[0]).toEqual({
        offset: 0,
        bytes: 8,
        reason: `file header damaged (${bytes.subarray(0, 8).toString('hex')} instead of ${FILE_MAGIC.toString('hex')})`,
        records: 0,
        exact: true,
      });
    }
    const three = Buffer.from(file);
    for (let i = 0; i < 3; i++) three[i] = (three[i] as number) ^ 0x20;
    three[8] = (three[8] as number) ^ 0x01;
    expect(scan(three).result.format).toBe('v0');
  });

  it('a header changed in every byte still reads as v1 when an intact record follows it', () => {
    const { file } = journalOf(3);
    const bytes = Buffer.from(file);
    for (let i = 0; i < 8; i++) bytes[i] = (bytes[i] as number) ^ 0xff;
    const { result, payloads } = scan(bytes);
    expect(result.format).toBe('v1');
    expect(idsOf(payloads)).toEqual([1, 2, 3]);
    expect(result.damage?.lost).toEqual({ records: 0, exact: true, bytes: 8 });
  });
});

describe('journal format: the old format (v0, bare BSON documents)', () => {
  const put = (n: number) => ({ op: 'put', db: 'j', name: 'c', doc: { _id: n } });

  it('loads every document of an old journal that parses to its end, one change per document', () => {
    const file = Buffer.concat([1, 2, 3].map((n) => Buffer.from(serialize(put(n)))));
    const { result, payloads } = scan(file);
    expect(result).toEqual({ format: 'v0', goodBytes: file.length, size: file.length, records: 3 });
    expect(payloads).toEqual([1, 2, 3].map((n) => ({ ops: [put(n)] })));
  });

  it('reports an old journal cut short as damage at its first bad document (no checksum to tell a crash)', () => {
    const docs = [1, 2, 3].map((n) => Buffer.from(serialize(put(n))));
    const file = Buffer.concat(docs);
    const cut = file.subarray(0, file.length - 2);
    const at = (docs[0] as Buffer).length + (docs[1] as Buffer).length;
    const { result, payloads } = scan(cut);
    expect(payloads).toHaveLength(2);
    expect(result.format).toBe('v0');
    expect(result.goodBytes).toBe(at);
    expect(result.records).toBe(2);
    expect(result.damage?.format).toBe('v0');
    expect(result.damage?.recordsAfter).toBe(0);
    expect(result.damage?.stretches).toEqual([
      {
        offset: at,
        bytes: cut.length - at,
        reason: `old-format record with length ${(docs[2] as Buffer).length} does not fit the file`,
        records: 1,
        exact: false,
      },
    ]);
    // Fewer than 4 bytes left: no length at all.
    const stub = scan(Buffer.concat([docs[0] as Buffer, Buffer.from([1, 2])])).result;
    expect(stub.damage?.reason).toBe('old-format record with length -1 does not fit the file');
    // A length below the smallest document (5 bytes).
    const tiny = scan(Buffer.concat([docs[0] as Buffer, Buffer.from([4, 0, 0, 0, 0])])).result;
    expect(tiny.damage?.reason).toBe('old-format record with length 4 does not fit the file');
    expect(tiny.damage?.offset).toBe((docs[0] as Buffer).length);
  });

  it('reports an old-format document that is not BSON, naming why', () => {
    const first = Buffer.from(serialize(put(1)));
    const bad = Buffer.from([9, 0, 0, 0, 0x7f, 0x41, 0, 0, 0]);
    const { result, payloads } = scan(Buffer.concat([first, bad]));
    expect(payloads).toHaveLength(1);
    expect(result.damage?.offset).toBe(first.length);
    expect(result.damage?.reason).toMatch(/^old-format record is not BSON \(.+\)$/);
  });
});
