/**
 * Runs unified-format test files: requirements against what the server claims, reasoned skips,
 * initial data, operations, expected events and the outcome.
 */
import { EJSON } from 'bson';
import type { CommandFailedEvent, CommandStartedEvent, CommandSucceededEvent, MongoClient } from 'mongodb';
import type { DriverDeviation } from './driver-deviations.ts';
import { Entities } from './entities.ts';
import { MatchError, matchValue } from './match.ts';
import { type RunnerContext, runOperation, toPlain, Unsupported } from './operations.ts';

type Doc = Record<string, unknown>;

/** What the server under test says about itself (hello, buildInfo, getParameter). */
export interface ServerClaims {
  version: number[];
  topology: 'single' | 'replicaset' | 'sharded' | 'load-balanced';
  parameters: Doc;
}

/** Outcome of one test. */
export interface TestOutcome {
  file: string;
  folder: string;
  test: string;
  status: 'passed' | 'failed' | 'skipped';
  /** Failure message, or skip reason. */
  detail: string;
  /** A listed driver deviation changed what was compared (driver-deviations.ts). */
  relaxed?: boolean;
}

/** The fields a listed driver deviation leaves out of the comparison of sent commands. */
type SentCommandRelaxation = DriverDeviation['sentCommand'];

function hasPath(doc: unknown, path: string[]): boolean {
  let cur = doc;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null || !(key in cur)) return false;
    cur = (cur as Doc)[key];
  }
  return true;
}

/** A copy of `doc` without the field at `path` (copies only the documents on the way). */
function withoutPath(doc: Doc, path: string[]): Doc {
  const [head, ...rest] = path as [string, ...string[]];
  const copy = { ...doc };
  if (rest.length === 0) delete copy[head];
  else copy[head] = withoutPath(copy[head] as Doc, rest);
  return copy;
}

/**
 * Applies a listed deviation to one sent command: drops each `extra` field the driver added where the
 * test expects none, and each `missing` field from the expectation where the driver left it out.
 * `applied` says whether anything was dropped.
 */
function relaxSentCommand(
  expected: Doc,
  actual: Doc,
  relax: SentCommandRelaxation,
): { expected: Doc; actual: Doc; applied: boolean } {
  let applied = false;
  for (const dotted of relax.extra ?? []) {
    const path = dotted.split('.');
    if (hasPath(actual, path) && !hasPath(expected, path) && hasPath(expected, path.slice(0, -1))) {
      actual = withoutPath(actual, path);
      applied = true;
    }
  }
  for (const dotted of relax.missing ?? []) {
    const path = dotted.split('.');
    if (hasPath(expected, path) && !hasPath(actual, path)) {
      expected = withoutPath(expected, path);
      applied = true;
    }
  }
  return { expected, actual, applied };
}

function versionParts(v: string): number[] {
  return v.split('.').map((x) => Number.parseInt(x, 10) || 0);
}

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Why a runOnRequirements entry is not met (undefined: it is met). */
function unmet(req: Doc, claims: ServerClaims): string | undefined {
  if (
    typeof req.minServerVersion === 'string' &&
    compareVersions(claims.version, versionParts(req.minServerVersion)) < 0
  )
    return `server version < ${req.minServerVersion}`;
  if (typeof req.maxServerVersion === 'string') {
    const max = versionParts(req.maxServerVersion);
    // "7.0" means any 7.0.x: compare only the given components.
    if (compareVersions(claims.version.slice(0, max.length), max) > 0)
      return `server version > ${req.maxServerVersion}`;
  }
  if (Array.isArray(req.topologies) && !req.topologies.includes(claims.topology))
    return `topology ${(req.topologies as string[]).join('/')}`;
  if (req.serverless === 'require') return 'serverless';
  if (req.auth === true || req.authMechanism !== undefined) return 'auth';
  if (req.csfle === true) return 'CSFLE';
  if (req.serverParameters) {
    for (const [k, v] of Object.entries(req.serverParameters as Doc)) {
      if (JSON.stringify(claims.parameters[k]) !== JSON.stringify(v)) return `server parameter ${k}`;
    }
  }
  return undefined;
}

/** Why none of the requirements are met, or undefined when one is (or there are none). */
export function requirementsUnmet(reqs: unknown, claims: ServerClaims): string | undefined {
  if (!Array.isArray(reqs) || reqs.length === 0) return undefined;
  const reasons: string[] = [];
  for (const r of reqs as Doc[]) {
    const why = unmet(r, claims);
    if (why === undefined) return undefined;
    reasons.push(why);
  }
  return reasons[0];
}

/** Features this runner does not drive (or the single-node server cannot offer), found before running. */
function unsupportedFeature(file: Doc, test: Doc): string | undefined {
  const text = JSON.stringify(test);
  if (/"name":"targetedFailPoint"/.test(text)) return 'targetedFailPoint (needs a mongos to pin a session to)';
  if (/"name":"(loop|runOnThread|waitForThread|waitForEvent|assertEventCount|waitForPrimaryChange)"/.test(text))
    return 'threads/loops/SDAM events';
  if (test.expectLogMessages || /"observeLogMessages"/.test(JSON.stringify(file.createEntities ?? [])))
    return 'log messages';
  const entities = JSON.stringify(file.createEntities ?? []) + text;
  if (/"(clientEncryption|bucket|thread)":/.test(entities)) return 'entity type (CSFLE/GridFS/thread)';
  if (/"storeEventsAsEntities"/.test(entities)) return 'storeEventsAsEntities';
  if (/"autoEncryptOpts"/.test(entities)) return 'CSFLE';
  for (const ee of (test.expectEvents as Doc[] | undefined) ?? []) {
    if (ee.eventType && ee.eventType !== 'command') return `${String(ee.eventType)} events`;
  }
  return undefined;
}

/**
 * Matches one expected event; its `command` / `reply` are root documents (extra fields allowed).
 * Returns whether `relax` (a listed driver deviation) changed what was compared.
 */
function matchEvent(
  expected: Doc,
  type: string,
  e: CommandStartedEvent | CommandSucceededEvent | CommandFailedEvent,
  path: string,
  entities: Entities,
  relax: SentCommandRelaxation | undefined,
): boolean {
  const actual: Doc = {
    commandName: e.commandName,
    databaseName: e.databaseName,
    hasServiceId: e.serviceId !== undefined,
    hasServerConnectionId: e.serverConnectionId !== null && e.serverConnectionId !== undefined,
  };
  const { command, reply, ...rest } = expected;
  matchValue(rest, actual, path, entities);
  let relaxed = false;
  if (command !== undefined && type === 'commandStartedEvent') {
    let sent = { expected: command as Doc, actual: toPlain((e as CommandStartedEvent).command) as Doc, applied: false };
    if (relax && (!relax.commands || relax.commands.includes(e.commandName)))
      sent = relaxSentCommand(sent.expected, sent.actual, relax);
    relaxed = sent.applied;
    matchValue(sent.expected, sent.actual, `${path}.command`, entities);
  }
  if (reply !== undefined && type === 'commandSucceededEvent')
    matchValue(reply, toPlain((e as CommandSucceededEvent).reply), `${path}.reply`, entities);
  return relaxed;
}

/** Checks the expected events; returns whether a listed driver deviation was needed to match them. */
function checkEvents(entities: Entities, expectEvents: Doc[], relax: SentCommandRelaxation | undefined): boolean {
  let relaxed = false;
  for (const ee of expectEvents) {
    const client = entities.client(ee.client as string);
    const expected = ee.events as Doc[];
    const actual = client.events;
    if (ee.ignoreExtraEvents === true ? actual.length < expected.length : actual.length !== expected.length) {
      throw new MatchError(
        `client ${String(ee.client)}: expected ${expected.length} events, got ${actual.length}: ${actual
          .map((a) => `${a.type}(${a.event.commandName})`)
          .join(', ')}`,
      );
    }
    expected.forEach((exp, i) => {
      const [type] = Object.keys(exp);
      const got = actual[i];
      if (!got || got.type !== type)
        throw new MatchError(`event ${i}: expected ${type}, got ${got?.type}(${got?.event.commandName})`);
      if (matchEvent(exp[type as string] as Doc, type as string, got.event, `events[${i}]`, entities, relax))
        relaxed = true;
    });
  }
  return relaxed;
}

async function loadInitialData(internal: MongoClient, data: Doc[]): Promise<void> {
  for (const d of data) {
    const db = internal.db(d.databaseName as string);
    await db.dropCollection(d.collectionName as string, { writeConcern: { w: 'majority' } }).catch(() => {});
  }
  for (const d of data) {
    const db = internal.db(d.databaseName as string);
    const docs = (d.documents as Doc[]) ?? [];
    if (d.createOptions || docs.length === 0) {
      await db.createCollection(d.collectionName as string, {
        ...((d.createOptions as Doc) ?? {}),
        writeConcern: { w: 'majority' },
      });
    }
    if (docs.length > 0)
      await db.collection(d.collectionName as string).insertMany(docs, { writeConcern: { w: 'majority' } });
  }
}

async function checkOutcome(internal: MongoClient, outcome: Doc[], entities: Entities): Promise<void> {
  for (const o of outcome) {
    const docs = await internal
      .db(o.databaseName as string)
      .collection(o.collectionName as string)
      .find({}, { sort: { _id: 1 }, readConcern: { level: 'local' } })
      .toArray();
    matchValue(o.documents, toPlain(docs), `outcome ${String(o.collectionName)}`, entities, false);
  }
}

/** Runs every test of one parsed file. */
export async function runFile(
  folder: string,
  file: string,
  text: string,
  uri: string,
  internal: MongoClient,
  claims: ServerClaims,
  timeoutMs: number,
  deviations: DriverDeviation[] = [],
): Promise<TestOutcome[]> {
  const spec = EJSON.parse(text, { relaxed: true }) as Doc;
  const tests = (spec.tests as Doc[]) ?? [];
  const out: TestOutcome[] = [];
  const fileUnmet = requirementsUnmet(spec.runOnRequirements, claims);
  for (const test of tests) {
    const base = { file, folder, test: String(test.description) };
    const skip =
      fileUnmet ??
      requirementsUnmet(test.runOnRequirements, claims) ??
      (typeof test.skipReason === 'string' ? `skipReason: ${test.skipReason}` : undefined) ??
      unsupportedFeature(spec, test);
    if (skip) {
      out.push({ ...base, status: 'skipped', detail: skip });
      continue;
    }
    const relax = deviations.find((d) => d.file === file && d.tests.includes(base.test))?.sentCommand;
    let relaxed = false;
    const entities = new Entities(uri);
    const ctx: RunnerContext = { entities, internal, failPointsSet: new Set() };
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        (async () => {
          if (Array.isArray(spec.initialData)) await loadInitialData(internal, spec.initialData as Doc[]);
          await entities.create((spec.createEntities as Doc[]) ?? []);
          for (const op of test.operations as Doc[]) await runOperation(ctx, op);
          if (Array.isArray(test.expectEvents)) relaxed = checkEvents(entities, test.expectEvents as Doc[], relax);
          if (Array.isArray(test.outcome)) await checkOutcome(internal, test.outcome as Doc[], entities);
        })(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      out.push({ ...base, status: 'passed', detail: '', relaxed });
    } catch (err) {
      if (err instanceof Unsupported) out.push({ ...base, status: 'skipped', detail: `runner: ${err.message}` });
      else out.push({ ...base, status: 'failed', detail: err instanceof Error ? err.message : String(err) });
    } finally {
      if (timer) clearTimeout(timer);
      // The unified format: every fail point a test set is turned off after it, pass or fail.
      for (const name of ctx.failPointsSet)
        await internal.db('admin').command({ configureFailPoint: name, mode: 'off' });
      await entities.close();
    }
  }
  return out;
}
