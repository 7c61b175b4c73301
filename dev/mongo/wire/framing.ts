/**
 * MongoDB wire protocol framing: parsing OP_MSG / OP_QUERY requests and building OP_MSG / OP_REPLY
 * responses. Anything malformed raises ProtocolError, after which the connection is closed.
 */
import { deserialize, serialize } from 'bson';
import { MAX_MESSAGE_SIZE_BYTES } from '../bson/limits.ts';

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_COMPRESSED = 2012;
export const OP_MSG = 2013;

const MSG_CHECKSUM_PRESENT = 1;
const MSG_MORE_TO_COME = 2;
const MSG_EXHAUST_ALLOWED = 1 << 16;

/** A framing or encoding error: the peer is not speaking the protocol, so the connection is dropped. */
export class ProtocolError extends Error {}

/** A parsed request. */
export interface Request {
  requestId: number;
  opCode: typeof OP_MSG | typeof OP_QUERY;
  /** The command document, with OP_MSG document sequences merged in as arrays. */
  command: Record<string, unknown>;
  /** For OP_QUERY: the namespace it was sent to (e.g. `admin.$cmd`). */
  fullCollectionName?: string;
  /** OP_MSG moreToCome: the client expects no reply. */
  moreToCome: boolean;
}

/** Length prefix of the next message if the buffer holds at least the header, validating it. */
export function messageLength(buf: Buffer): number | undefined {
  if (buf.length < 4) return undefined;
  const len = buf.readInt32LE(0);
  if (len < 16 || len > MAX_MESSAGE_SIZE_BYTES) {
    throw new ProtocolError(`invalid message length ${len} (must be 16..${MAX_MESSAGE_SIZE_BYTES})`);
  }
  return len;
}

function readCString(buf: Buffer, offset: number): [string, number] {
  const end = buf.indexOf(0, offset);
  if (end < 0) throw new ProtocolError('unterminated cstring');
  return [buf.toString('utf8', offset, end), end + 1];
}

function readDocument(buf: Buffer, offset: number, limit: number): [Record<string, unknown>, number] {
  if (offset + 5 > limit) throw new ProtocolError('truncated BSON document');
  const size = buf.readInt32LE(offset);
  if (size < 5 || offset + size > limit) throw new ProtocolError(`invalid BSON document size ${size}`);
  try {
    // Default promoteValues: Int32/Double/Int64-that-fits come back as JS numbers, which mingo understands.
    return [
      deserialize(buf.subarray(offset, offset + size), { validation: { utf8: true } }) as Record<string, unknown>,
      offset + size,
    ];
  } catch (err) {
    throw new ProtocolError(`invalid BSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Parses one complete message (header included). */
export function parseMessage(msg: Buffer): Request {
  const requestId = msg.readInt32LE(4);
  const opCode = msg.readInt32LE(12);
  if (opCode === OP_MSG) {
    if (msg.length < 21) throw new ProtocolError('OP_MSG too short');
    const flags = msg.readUInt32LE(16);
    const known = MSG_CHECKSUM_PRESENT | MSG_MORE_TO_COME | MSG_EXHAUST_ALLOWED;
    if ((flags & 0xffff & ~known) !== 0) throw new ProtocolError(`unsupported OP_MSG flags ${flags}`);
    const end = flags & MSG_CHECKSUM_PRESENT ? msg.length - 4 : msg.length;
    let offset = 20;
    let body: Record<string, unknown> | undefined;
    const sequences: Array<[string, Record<string, unknown>[]]> = [];
    while (offset < end) {
      const kind = msg.readUInt8(offset++);
      if (kind === 0) {
        if (body) throw new ProtocolError('OP_MSG has more than one body section');
        [body, offset] = readDocument(msg, offset, end);
      } else if (kind === 1) {
        if (offset + 4 > end) throw new ProtocolError('truncated document sequence');
        const size = msg.readInt32LE(offset);
        const seqEnd = offset + size;
        if (size < 5 || seqEnd > end) throw new ProtocolError('invalid document sequence size');
        let [identifier, pos] = readCString(msg, offset + 4);
        const docs: Record<string, unknown>[] = [];
        while (pos < seqEnd) {
          let doc: Record<string, unknown>;
          [doc, pos] = readDocument(msg, pos, seqEnd);
          docs.push(doc);
        }
        sequences.push([identifier, docs]);
        offset = seqEnd;
        identifier = '';
      } else {
        throw new ProtocolError(`unknown OP_MSG section kind ${kind}`);
      }
    }
    if (!body) throw new ProtocolError('OP_MSG without body');
    for (const [identifier, docs] of sequences) body[identifier] = docs;
    return { requestId, opCode, command: body, moreToCome: (flags & MSG_MORE_TO_COME) !== 0 };
  }
  if (opCode === OP_QUERY) {
    let offset = 20;
    const [fullCollectionName, afterName] = readCString(msg, offset);
    offset = afterName + 8; // numberToSkip, numberToReturn
    const [query] = readDocument(msg, offset, msg.length);
    // Legacy clients may wrap the command as { $query: {...}, $readPreference }.
    const command =
      typeof query.$query === 'object' && query.$query !== null ? (query.$query as Record<string, unknown>) : query;
    return { requestId, opCode, command, fullCollectionName, moreToCome: false };
  }
  throw new ProtocolError(`unsupported opCode ${opCode}`);
}

let nextResponseId = 1;

function header(totalLength: number, responseTo: number, opCode: number): Buffer {
  const h = Buffer.allocUnsafe(16);
  h.writeInt32LE(totalLength, 0);
  h.writeInt32LE(nextResponseId++ & 0x7fffffff, 4);
  h.writeInt32LE(responseTo, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

/** An OP_MSG reply with one body section. */
export function encodeMsgReply(responseTo: number, doc: Record<string, unknown>): Buffer {
  const body = serialize(doc);
  const prefix = Buffer.allocUnsafe(5);
  prefix.writeUInt32LE(0, 0);
  prefix.writeUInt8(0, 4);
  return Buffer.concat([header(16 + 5 + body.length, responseTo, OP_MSG), prefix, body]);
}

/** An OP_REPLY with one document (answer to a legacy OP_QUERY handshake). */
export function encodeOpReply(responseTo: number, doc: Record<string, unknown>): Buffer {
  const body = serialize(doc);
  const fields = Buffer.alloc(20);
  // responseFlags 0, cursorId 0 (int64), startingFrom 0, numberReturned 1
  fields.writeInt32LE(1, 16);
  return Buffer.concat([header(16 + 20 + body.length, responseTo, OP_REPLY), fields, body]);
}
