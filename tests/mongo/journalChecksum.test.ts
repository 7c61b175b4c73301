/**
 * The journal's payload checksum on damage that leaves the payload valid BSON: one letter of a
 * stored string changed. Only the checksum can tell; without it the server would load a value
 * that was never written.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedMongo } from '#dev/mongo/index';
import { withServer } from '../support/restart.ts';

const JOURNAL = 'journal.bson';
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

type Note = { _id: number; text: string };
const text = (i: number) => `note-${String(i).padStart(3, '0')}-AAAA`;

/** A journal of `n` notes, one insert (one record) each; returns its path. */
async function journalOfNotes(n: number): Promise<{ dir: string; path: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'embedded-checksum-'));
  dirs.push(dir);
  await withServer(dir, async (client) => {
    const notes = client.db('j').collection<Note>('notes');
    for (let i = 0; i < n; i++) await notes.insertOne({ _id: i, text: text(i) });
  });
  return { dir, path: join(dir, JOURNAL) };
}

/** Changes the first 'A' of note `i`'s text to 'B' in the file: the payload stays valid BSON. */
function changeOneLetter(path: string, i: number): number {
  const bytes = readFileSync(path);
  const at = bytes.indexOf(Buffer.from(text(i), 'latin1'));
  expect(at).toBeGreaterThan(0);
  const letter = at + text(i).indexOf('A');
  bytes[letter] = 'B'.charCodeAt(0);
  writeFileSync(path, bytes);
  return letter;
}

describe('journal: payload checksum on a payload that still parses', () => {
  it('refuses to start on a changed letter in a record before the end, and names the damage', async () => {
    const { dir, path } = await journalOfNotes(20);
    changeOneLetter(path, 10);
    const failure = await startEmbeddedMongo({ port: 0, dbPath: dir, log: () => {} }).then(
      async (server) => {
        await server.stop();
        return undefined;
      },
      (err: unknown) => err as Error,
    );
    expect(failure?.message).toContain('record checksum mismatch');
    expect(failure?.message).toContain(path);
  });

  it('drops a last record with a changed letter as torn, and never loads the changed value', async () => {
    const { dir, path } = await journalOfNotes(5);
    changeOneLetter(path, 4);
    const lines = await withServer(dir, async (client) => {
      const notes = await client.db('j').collection<Note>('notes').find().sort({ _id: 1 }).toArray();
      expect(notes).toEqual([0, 1, 2, 3].map((i) => ({ _id: i, text: text(i) })));
    });
    expect(lines.join('\n')).toContain('dropped a torn last record');
    expect(lines.join('\n')).toContain('record checksum mismatch');
  });
});
