/** Embedded servers on a journal directory: one run (`withServer`), or two in a row on the same journal (`acrossRestart`). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { type EmbeddedMongoOptions, startEmbeddedMongo } from '#dev/mongo/index';

/**
 * Starts a server of its own on `dir` (in memory when undefined), runs `body` with a client of it,
 * stops it; returns its log lines. For tests that need a server other than the suite's.
 */
export async function withServer(
  dir: string | undefined,
  body: (client: MongoClient) => Promise<void>,
  options: Partial<EmbeddedMongoOptions> = {},
): Promise<string[]> {
  const lines: string[] = [];
  const server = await startEmbeddedMongo({ port: 0, dbPath: dir, log: (l) => lines.push(l), ...options });
  const client = new MongoClient(server.uri);
  try {
    await body(client);
  } finally {
    await client.close();
    await server.stop();
  }
  return lines;
}

/** `before` writes through one server; `after` reads through a second one started on its journal. */
export async function acrossRestart(
  before: (client: MongoClient) => Promise<void>,
  after: (client: MongoClient) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'embedded-restart-'));
  try {
    await withServer(dir, before);
    await withServer(dir, after);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
