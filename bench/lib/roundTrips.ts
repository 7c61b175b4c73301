/**
 * A TCP proxy in front of MongoDB that counts the wire-protocol messages clients send, to show
 * how many round trips one request costs. Used only for that count, never while timing.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface CountingProxy {
  uri: string;
  /** Messages sent by clients since the last reset. */
  messages(): number;
  reset(): void;
  close(): Promise<void>;
}

export async function startCountingProxy(upstreamPort: number): Promise<CountingProxy> {
  let count = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    // Frames are length-prefixed (int32 LE, length included): count one per frame start.
    let header = Buffer.alloc(0);
    let remaining = 0;
    client.on('data', (chunk: Buffer) => {
      let at = 0;
      while (at < chunk.length) {
        if (remaining > 0) {
          const take = Math.min(remaining, chunk.length - at);
          remaining -= take;
          at += take;
          continue;
        }
        const take = Math.min(4 - header.length, chunk.length - at);
        header = Buffer.concat([header, chunk.subarray(at, at + take)]);
        at += take;
        if (header.length === 4) {
          count++;
          remaining = header.readInt32LE(0) - 4;
          header = Buffer.alloc(0);
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', closeBoth);
    upstream.on('close', closeBoth);
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    uri: `mongodb://127.0.0.1:${port}/?directConnection=true`,
    messages: () => count,
    reset: () => {
      count = 0;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
