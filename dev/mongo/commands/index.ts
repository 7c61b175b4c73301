/**
 * The command table: command name (as sent, plus mongod's lowercase aliases) → handler.
 */
import { bulkWriteCommands } from './bulk-write.ts';
import { catalogCommands } from './catalog.ts';
import { testCommands } from './fail-point-commands.ts';
import { handshakeCommands } from './handshake.ts';
import { readCommands } from './read.ts';
import { statsCommands } from './stats.ts';
import type { CommandSpec } from './types.ts';
import { writeCommands } from './write.ts';

/** Placeholder entries: these two are executed by the dispatcher, which owns session state. */
const transactionCommands: Record<string, CommandSpec> = {
  commitTransaction: { adminOnly: true, allowedInTxn: true, handler: () => ({ ok: 1 }) },
  abortTransaction: { adminOnly: true, allowedInTxn: true, handler: () => ({ ok: 1 }) },
};

export const commands: Record<string, CommandSpec> = {
  ...handshakeCommands,
  ...readCommands,
  ...writeCommands,
  ...bulkWriteCommands,
  ...catalogCommands,
  ...statsCommands,
  ...transactionCommands,
  ...testCommands,
  ismaster: handshakeCommands.isMaster as CommandSpec,
  buildinfo: handshakeCommands.buildInfo as CommandSpec,
};
