/**
 * Test-only commands: `configureFailPoint` and `waitForFailPoint`. Like mongod, they exist only when the server was started
 * with test commands enabled (`--setParameter enableTestCommands=1`); otherwise the dispatcher
 * answers 59 CommandNotFound, exactly as mongod does.
 */
import type { CommandSpec } from './types.ts';

export const testCommands: Record<string, CommandSpec> = {
  configureFailPoint: {
    adminOnly: true,
    testOnly: true,
    handler: (ctx) => ctx.state.failPoints.configure(ctx.cmd),
  },
  waitForFailPoint: {
    adminOnly: true,
    testOnly: true,
    handler: (ctx) => ctx.state.failPoints.waitFor(ctx.cmd),
  },
};
