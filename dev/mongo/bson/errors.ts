/**
 * Command errors with MongoDB's numeric codes and code names, so replies look like mongod's.
 */
export const codeNames: Record<number, string> = {
  1: 'InternalError',
  2: 'BadValue',
  8: 'UnknownError',
  9: 'FailedToParse',
  11: 'UserNotFound',
  14: 'TypeMismatch',
  16: 'InvalidLength',
  20: 'IllegalOperation',
  26: 'NamespaceNotFound',
  27: 'IndexNotFound',
  40: 'ConflictingUpdateOperators',
  43: 'CursorNotFound',
  48: 'NamespaceExists',
  50: 'MaxTimeMSExpired',
  52: 'DollarPrefixedFieldName',
  56: 'EmptyFieldName',
  59: 'CommandNotFound',
  66: 'ImmutableField',
  67: 'CannotCreateIndex',
  72: 'InvalidOptions',
  73: 'InvalidNamespace',
  85: 'IndexOptionsConflict',
  86: 'IndexKeySpecsConflict',
  112: 'WriteConflict',
  115: 'CommandNotSupported',
  117: 'ConflictingOperationInProgress',
  121: 'DocumentValidationFailure',
  125: 'CommandFailed',
  13113: 'MergeStageNoMatchingDocument',
  13: 'Unauthorized',
  352: 'UnsupportedOpQueryCommand',
  359: 'CannotConvertIndexToUnique',
  40571: 'Location40571',
  51024: 'Location51024',
  51246: 'Location51246',
  15974: 'Location15974',
  28: 'PathNotViable',
  79: 'UnknownReplWriteConcern',
  100: 'UnsatisfiableWriteConcern',
  239: 'SnapshotTooOld',
  171: 'CannotIndexParallelArrays',
  168: 'InvalidPipelineOperator',
  225: 'TransactionTooOld',
  251: 'NoSuchTransaction',
  256: 'TransactionCommitted',
  263: 'OperationNotSupportedInTransaction',
  10334: 'BSONObjectTooLarge',
  11000: 'DuplicateKey',
  // Codes tests inject through failCommand (fail-points.ts), with mongod's names.
  6: 'HostUnreachable',
  7: 'HostNotFound',
  24: 'LockTimeout',
  64: 'WriteConcernFailed',
  89: 'NetworkTimeout',
  91: 'ShutdownInProgress',
  134: 'ReadConcernMajorityNotAvailableYet',
  189: 'PrimarySteppedDown',
  241: 'StaleChunkHistory',
  246: 'SnapshotUnavailable',
  262: 'ExceededTimeLimit',
  266: 'FailPointSetFailed',
  267: 'PreparedTransactionInProgress',
  9001: 'SocketException',
  10107: 'NotWritablePrimary',
  11600: 'InterruptedAtShutdown',
  11601: 'Interrupted',
  11602: 'InterruptedDueToReplStateChange',
  13435: 'NotPrimaryNoSecondaryOk',
  13436: 'NotPrimaryOrSecondary',
  50985: 'Location50985',
  40414: 'Location40414',
  40415: 'Location40415',
  40601: 'Location40601',
  51183: 'Location51183',
  51132: 'Location51132',
  51185: 'Location51185',
  40600: 'Location40600',
  51047: 'Location51047',
  31441: 'Location31441',
  17385: 'Location17385',
  31321: 'Location31321',
  31319: 'Location31319',
  31320: 'Location31320',
  51181: 'Location51181',
  51199: 'Location51199',
  51273: 'Location51273',
  51178: 'Location51178',
  51186: 'Location51186',
  51134: 'Location51134',
  51187: 'Location51187',
  51191: 'Location51191',
  16990: 'Location16990',
  16020: 'Location16020',
  16555: 'Location16555',
  16556: 'Location16556',
  16612: 'Location16612',
  31465: 'Location31465',
  5786800: 'Location5786800',
  5786801: 'Location5786801',
  47: 'NoMatchingDocument',
  260: 'InvalidResumeToken',
  280: 'ChangeStreamFatalError',
  286: 'ChangeStreamHistoryLost',
  40602: 'Location40602',
};

/** An error that becomes an `{ ok: 0, code, codeName, errmsg }` reply (or a write error). */
export class MongoCommandError extends Error {
  readonly code: number;
  readonly codeName: string;
  readonly errorLabels: string[];
  /** Extra fields copied into the reply / write error (e.g. keyPattern, keyValue). */
  readonly extra: Record<string, unknown>;

  constructor(code: number, message: string, extra: Record<string, unknown> = {}, errorLabels: string[] = []) {
    super(message);
    this.code = code;
    // mongod names its numbered assertions (uassert 15958…) Location<code>.
    this.codeName = codeNames[code] ?? (code >= 10000 ? `Location${code}` : 'UnknownError');
    this.extra = extra;
    this.errorLabels = errorLabels;
  }

  /** The top-level error reply document. */
  toReply(): Record<string, unknown> {
    const reply: Record<string, unknown> = {
      ok: 0,
      errmsg: this.message,
      code: this.code,
      codeName: this.codeName,
      ...this.extra,
    };
    if (this.errorLabels.length > 0) reply.errorLabels = this.errorLabels;
    return reply;
  }
}

/** WriteConflict, labelled so drivers retry the whole transaction. */
export function writeConflict(): MongoCommandError {
  return new MongoCommandError(
    112,
    'Caused by :: Write conflict during plan execution and yielding is disabled. :: Please retry your operation or multi-document transaction.',
    {},
    ['TransientTransactionError'],
  );
}

/** Whether an error is one that mongod reports as a per-document write error rather than a command failure. */
export function isWriteError(err: unknown): err is MongoCommandError {
  return err instanceof MongoCommandError && err.code !== 112 && err.code !== 251 && err.code !== 50;
}
