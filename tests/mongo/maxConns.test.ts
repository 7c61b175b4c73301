import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startEmbeddedMongo } from '#dev/mongo/index';

describe('refused connections at maxIncomingConnections', () => {
  /** Opens a TCP connection and resolves once it is connected (`hold`) or closed by the server. */
  const open = (port: number, hold: boolean): Promise<Socket> =>
    new Promise((resolve) => {
      const socket: Socket = connect(port, '127.0.0.1');
      socket.on('error', () => {});
      if (hold) socket.once('connect', () => resolve(socket));
      else socket.once('close', () => resolve(socket));
    });

  it('logs the first refusal, then one line per interval with the count, and every refusal is counted', async () => {
    const lines: string[] = [];
    const server = await startEmbeddedMongo({
      port: 0,
      log: (l) => lines.push(l),
      maxIncomingConnections: 2,
      refusedConnectionLogIntervalMs: 200,
    });
    const held: Socket[] = [];
    const started = Date.now();
    try {
      held.push(await open(server.port, true), await open(server.port, true));
      await new Promise((r) => setTimeout(r, 100)); // the server has taken both
      for (let burst = 0; burst < 3; burst++) {
        await Promise.all(Array.from({ length: 100 }, () => open(server.port, false)));
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      for (const s of held) s.destroy();
      await server.stop();
    }
    const elapsedMs = Date.now() - started;
    const refusalLines = lines.filter((l) => l.includes('refused'));
    const first = refusalLines.filter((l) => l.includes('too many open connections'));
    const summaries = refusalLines.map((l) => /^refused (\d+) connection\(s\) in the last \d+ s: maxConns 2/.exec(l));
    const counted = summaries.reduce((sum, m) => sum + Number(m?.[1] ?? 0), 0);
    expect(first.length + counted).toBe(300);
    // At most one full line per burst (3) and one summary per 200 ms interval (+1 at stop), not one per refusal.
    expect(refusalLines.length, refusalLines.join('\n')).toBeLessThanOrEqual(3 + Math.ceil(elapsedMs / 200) + 1);
    expect(refusalLines.length).toBeLessThan(30);
    expect(summaries.filter(Boolean).length).toBeGreaterThanOrEqual(1);
  });
});
