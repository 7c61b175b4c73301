/**
 * The TCP side: accepts connections, frames messages, runs them one at a time per connection
 * (as drivers expect) and writes replies. A peer that breaks the protocol is disconnected with
 * one log line; other connections are unaffected.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { closesConnection } from '../commands/fail-points.ts';
import type { ServerState } from '../commands/types.ts';
import { dispatch } from './dispatch.ts';
import { replyWhenDurable } from './durability.ts';
import { encodeMsgReply, encodeOpReply, messageLength, OP_QUERY, ProtocolError, parseMessage } from './framing.ts';

/** How often refused connections are summed up in one log line (drivers retry monitors in bursts). */
const REFUSED_LOG_INTERVAL_MS = 10_000;

/** A listening wire server over shared state. */
export class WireServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private nextConnectionId = 1;
  private readonly state: ServerState;
  private readonly maxIncomingConnections: number;
  private readonly refusedLogIntervalMs: number;
  /** Refusals since the last log line, while a summary is due (the timer is set). */
  private refused = { count: 0, since: 0, timer: undefined as NodeJS.Timeout | undefined };

  /**
   * `maxIncomingConnections`: like mongod's net.maxIncomingConnections, connections beyond it are
   * closed at once. The first refusal is logged; later ones are counted and logged as one line per
   * `refusedLogIntervalMs` (default 10 s) while they go on.
   */
  constructor(state: ServerState, options: { maxIncomingConnections?: number; refusedLogIntervalMs?: number } = {}) {
    this.state = state;
    this.maxIncomingConnections = options.maxIncomingConnections ?? Number.POSITIVE_INFINITY;
    this.refusedLogIntervalMs = options.refusedLogIntervalMs ?? REFUSED_LOG_INTERVAL_MS;
    this.server = createServer((socket) => this.accept(socket));
    state.connections = () => ({
      current: this.sockets.size,
      available:
        (Number.isFinite(this.maxIncomingConnections) ? this.maxIncomingConnections : 1_000_000) - this.sockets.size,
      totalCreated: this.nextConnectionId - 1,
      active: this.sockets.size,
    });
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  /** Stops accepting, drops every connection and resolves once the listener is closed. */
  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.logRefusedSummary(false);
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    return closed;
  }

  /** Logs the first refusal of a burst in full; later ones are counted for the next summary. */
  private noteRefused(connectionId: number, peer: string): void {
    if (this.refused.timer) {
      this.refused.count++;
      return;
    }
    this.state.log(
      `connection ${connectionId} from ${peer} refused: too many open connections ` +
        `(${this.sockets.size}, maxConns ${this.maxIncomingConnections}); ` +
        `further refusals are counted and logged every ${this.refusedLogIntervalMs / 1000} s`,
    );
    this.refused = { count: 0, since: Date.now(), timer: this.refusedTimer() };
  }

  private refusedTimer(): NodeJS.Timeout {
    const timer = setTimeout(() => this.logRefusedSummary(true), this.refusedLogIntervalMs);
    timer.unref();
    return timer;
  }

  /**
   * Logs "refused N connections in the last T s" if any were counted, and keeps counting for
   * another interval (`rearm`) while refusals go on; a quiet interval ends the burst, so the next
   * refusal is logged in full again. Also called on close, so no count is lost.
   */
  private logRefusedSummary(rearm: boolean): void {
    const { count, since, timer } = this.refused;
    clearTimeout(timer);
    if (count > 0) {
      const seconds = Math.max(1, Math.round((Date.now() - since) / 1000));
      this.state.log(
        `refused ${count} connection(s) in the last ${seconds} s: maxConns ${this.maxIncomingConnections} ` +
          `(${this.sockets.size} open)`,
      );
    }
    this.refused = {
      count: 0,
      since: Date.now(),
      timer: rearm && count > 0 ? this.refusedTimer() : undefined,
    };
  }

  private accept(socket: Socket): void {
    const connectionId = this.nextConnectionId++;
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    if (this.sockets.size >= this.maxIncomingConnections) {
      // mongod accepts, logs "too many open connections" and closes before reading anything.
      socket.destroy();
      this.noteRefused(connectionId, peer);
      return;
    }
    this.sockets.add(socket);
    socket.setNoDelay(true);
    let pending: Buffer = Buffer.alloc(0);
    let busy = false;
    let closed = false;

    const drop = (reason: string): void => {
      if (closed) return;
      closed = true;
      this.state.log(`closing connection ${connectionId} from ${peer}: ${reason}`);
      socket.destroy();
    };

    const pump = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        while (!closed) {
          const len = messageLength(pending);
          if (len === undefined || pending.length < len) break;
          const msg = pending.subarray(0, len);
          pending = pending.subarray(len);
          const request = parseMessage(msg);
          const reply = await replyWhenDurable(this.state, request.command, () =>
            dispatch(this.state, request.command, {
              connectionId,
              legacyDb: request.opCode === OP_QUERY ? (request.fullCollectionName ?? '').split('.')[0] : undefined,
            }),
          );
          if (closesConnection(reply)) {
            drop(`a fail point closed it before answering ${Object.keys(request.command)[0] ?? ''}`);
            break;
          }
          if (closed || request.moreToCome) continue;
          let bytes: Buffer;
          try {
            bytes =
              request.opCode === OP_QUERY
                ? encodeOpReply(request.requestId, reply)
                : encodeMsgReply(request.requestId, reply);
          } catch (err) {
            const errmsg = `could not encode reply: ${err instanceof Error ? err.message : String(err)}`;
            bytes = encodeMsgReply(request.requestId, { ok: 0, errmsg, code: 10334, codeName: 'BSONObjectTooLarge' });
          }
          socket.write(bytes);
        }
      } catch (err) {
        drop(
          err instanceof ProtocolError
            ? err.message
            : `internal error: ${err instanceof Error ? err.stack : String(err)}`,
        );
      } finally {
        busy = false;
      }
      // Data may have arrived while the last command was awaited.
      if (!closed && pending.length > 0) {
        const len = pending.length >= 4 ? pending.readInt32LE(0) : undefined;
        if (len !== undefined && (len < 16 || pending.length >= len)) void pump();
      }
    };

    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      void pump();
    });
    socket.on('error', () => {
      closed = true;
    });
    socket.on('close', () => {
      closed = true;
      this.sockets.delete(socket);
      this.state.failPoints.forget(connectionId);
    });
  }
}
