/** Runs code against an embedded server with a journal, then again against a fresh server on the same journal. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { startEmbeddedMongo } from '#dev/mongo/index';

/** `before` writes through one server; `after` reads through a second one started on its journal. */
export async function acrossRestart(
  before: (client: MongoClient) => Promise<void>,
  after: (client: MongoClient) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'embedded-restart-'));
  try {
    for (const body of [before, after]) {
      const server = await startEmbeddedMongo({ port: 0, dbPath: dir, log: () => {} });
      const client = new MongoClient(server.uri);
      try {
        await body(client);
      } finally {
        await client.close();
        await server.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
