/** Handshake, diagnostics and session housekeeping commands. */
import { hostname } from 'node:os';
import { MongoCommandError } from '../bson/errors.ts';
import { MAX_BSON_OBJECT_SIZE, MAX_MESSAGE_SIZE_BYTES, MAX_WRITE_BATCH_SIZE } from '../bson/limits.ts';
import { releaseSnapshots } from './concerns.ts';
import type { CommandContext, CommandSpec } from './types.ts';

function hello(ctx: CommandContext, legacyName: boolean): Record<string, unknown> {
  const { state } = ctx;
  const reply: Record<string, unknown> = {};
  if (ctx.cmd.helloOk === true) reply.helloOk = true;
  // topologyVersion is left out on purpose: with it the driver switches to streaming (exhaust) hellos.
  Object.assign(reply, {
    [legacyName ? 'ismaster' : 'isWritablePrimary']: true,
    setName: state.setName,
    setVersion: 1,
    hosts: [state.address],
    primary: state.address,
    me: state.address,
    secondary: false,
    electionId: state.electionId,
    maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
    maxMessageSizeBytes: MAX_MESSAGE_SIZE_BYTES,
    maxWriteBatchSize: MAX_WRITE_BATCH_SIZE,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: ctx.connectionId,
    minWireVersion: 0,
    maxWireVersion: state.version.maxWireVersion,
    readOnly: false,
    ok: 1,
  });
  return reply;
}

const gettableParameters = (ctx: CommandContext): Record<string, unknown> => ({
  featureCompatibilityVersion: { version: ctx.state.version.release },
  transactionLifetimeLimitSeconds: ctx.state.parameters.transactionLifetimeLimitSeconds,
  maxTransactionLockRequestTimeoutMillis: 5,
  cursorTimeoutMillis: 600000,
});

export const handshakeCommands: Record<string, CommandSpec> = {
  hello: { handler: (ctx) => hello(ctx, false), allowedInTxn: true },
  isMaster: { handler: (ctx) => hello(ctx, true), allowedInTxn: true },
  ping: { handler: () => ({ ok: 1 }), allowedInTxn: true },
  buildInfo: {
    handler: (ctx) => ({
      version: ctx.state.version.version,
      gitVersion: 'embedded',
      versionArray: ctx.state.version.versionArray,
      bits: 64,
      debug: false,
      maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
      storageEngines: ['embedded'],
      javascriptEngine: 'none',
      modules: [],
      ok: 1,
    }),
    allowedInTxn: true,
  },
  hostInfo: {
    handler: () => ({
      system: { currentTime: new Date(), hostname: hostname(), cpuAddrSize: 64, numCores: 1 },
      os: { type: process.platform, name: process.platform },
      extra: {},
      ok: 1,
    }),
  },
  whatsmyuri: { handler: (ctx) => ({ you: ctx.state.address, ok: 1 }) },
  connectionStatus: { handler: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] }, ok: 1 }) },
  getLog: {
    handler: (ctx) => {
      if (ctx.cmd.getLog === '*') return { names: ['global', 'startupWarnings'], ok: 1 };
      return { totalLinesWritten: 0, log: [], ok: 1 };
    },
    adminOnly: true,
  },
  getCmdLineOpts: { handler: () => ({ argv: ['embedded-mongo'], parsed: {}, ok: 1 }), adminOnly: true },
  getParameter: {
    adminOnly: true,
    handler: (ctx) => {
      const all = gettableParameters(ctx);
      if (
        ctx.cmd.getParameter === '*' ||
        (typeof ctx.cmd.getParameter === 'object' &&
          ctx.cmd.getParameter !== null &&
          (ctx.cmd.getParameter as Record<string, unknown>).allParameters)
      ) {
        return { ...all, ok: 1 };
      }
      const reply: Record<string, unknown> = {};
      for (const key of Object.keys(ctx.cmd)) {
        if (key === 'getParameter' || key.startsWith('$') || key === 'lsid') continue;
        if (key in all) reply[key] = all[key];
      }
      if (Object.keys(reply).length === 0) throw new MongoCommandError(72, 'no option found to get');
      return { ...reply, ok: 1 };
    },
  },
  setParameter: {
    adminOnly: true,
    handler: (ctx) => {
      const value = ctx.cmd.transactionLifetimeLimitSeconds;
      if (value === undefined) throw new MongoCommandError(72, 'no option found to set, use help:true to see options ');
      if (typeof value !== 'number' || !(value >= 1)) {
        throw new MongoCommandError(2, 'transactionLifetimeLimitSeconds must be greater than or equal to 1s');
      }
      const was = ctx.state.parameters.transactionLifetimeLimitSeconds;
      ctx.state.parameters.transactionLifetimeLimitSeconds = value;
      return { was, ok: 1 };
    },
  },
  serverStatus: {
    handler: (ctx) => ({
      host: ctx.state.address,
      version: ctx.state.version.version,
      process: 'mongod',
      uptime: Math.floor((Date.now() - ctx.state.startedAt) / 1000),
      localTime: new Date(),
      transactions: { currentActive: ctx.engine.activeTxns.size },
      connections: ctx.state.connections(),
      ok: 1,
    }),
  },
  endSessions: {
    handler: (ctx) => {
      const ids = Array.isArray(ctx.cmd.endSessions) ? ctx.cmd.endSessions : [];
      for (const lsid of ids) endSession(ctx, lsid);
      return { ok: 1 };
    },
  },
  killSessions: {
    handler: (ctx) => {
      const ids = Array.isArray(ctx.cmd.killSessions) ? ctx.cmd.killSessions : [];
      for (const lsid of ids) endSession(ctx, lsid);
      return { ok: 1 };
    },
  },
  refreshSessions: { handler: () => ({ ok: 1 }) },
};

/** Session key of an `lsid` document (`{ id: UUID }`). */
export function lsidKeyOf(lsid: unknown): string | undefined {
  if (typeof lsid !== 'object' || lsid === null) return undefined;
  const id = (lsid as { id?: { toString(enc: 'hex'): string } }).id;
  if (!id || typeof id.toString !== 'function') return undefined;
  return id.toString('hex');
}

function endSession(ctx: CommandContext, lsid: unknown): void {
  const key = lsidKeyOf(lsid);
  if (!key) return;
  const session = ctx.state.sessions.get(key);
  if (session?.txn) ctx.engine.abortTransaction(session.txn, 'session ended');
  ctx.state.sessions.delete(key);
  releaseSnapshots(ctx.state, key);
  ctx.state.cursors.killForSession(key);
}
