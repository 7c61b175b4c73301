/**
 * mongod's size limits, reported in hello. They live at the bottom layer because every layer
 * enforces one: framing the message size, cursors and change streams the reply size, commands
 * the document and batch sizes.
 */

/** The largest BSON document (16 MiB). */
export const MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024;
/** The largest wire message. */
export const MAX_MESSAGE_SIZE_BYTES = 48_000_000;
/** The most statements in one insert, update or delete command. */
export const MAX_WRITE_BATCH_SIZE = 100_000;
