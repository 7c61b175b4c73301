/**
 * Where the official Node driver (the only client this runner uses) sends a command that differs
 * from what a spec test expects, in a field the server never produces. For these tests only, the
 * named fields of the *sent* command (commandStartedEvent.command) are not compared; everything else
 * (results, errors, replies, the outcome, every other field of every event) still is. Each entry must
 * still apply: the run fails when a listed relaxation was never needed, so the list stays true.
 *
 * The Node driver's own spec suite tolerates the same: its matcher allows extra fields in nested
 * documents of a sent command, and it skips the bypassDocumentValidation tests (NODE-6484).
 */
export interface DriverDeviation {
  /** `folder/file.json` */
  file: string;
  /** What the driver does differently, and why it is not the server's answer. */
  reason: string;
  /**
   * Dotted paths in the sent command: `extra` the driver adds, `missing` the driver leaves out;
   * `commands`: only in these commands (default: every command of the test).
   */
  sentCommand: { extra?: string[]; missing?: string[]; commands?: string[] };
  /** Test descriptions. */
  tests: string[];
}

const commitWtimeout = {
  reason:
    'the Node driver adds wtimeout: 10000 to the write concern of every commitTransaction and abortTransaction it sends (the spec asks for it only on a retried commit)',
  sentCommand: { extra: ['writeConcern.wtimeout'], commands: ['commitTransaction', 'abortTransaction'] },
};

const bypassFalse = {
  reason: 'the Node driver leaves bypassDocumentValidation: false out of the command it sends (NODE-6484)',
  sentCommand: { missing: ['bypassDocumentValidation'] },
};

export const driverDeviations: DriverDeviation[] = [
  {
    file: 'transactions-convenient-api/transaction-options.json',
    ...commitWtimeout,
    tests: [
      'withTransaction inherits transaction options from client',
      'withTransaction inherits transaction options from defaultTransactionOptions',
      'withTransaction explicit transaction options',
      'withTransaction explicit transaction options override defaultTransactionOptions',
      'withTransaction explicit transaction options override client options',
    ],
  },
  { file: 'transactions/delete.json', ...commitWtimeout, tests: ['collection writeConcern ignored for delete'] },
  {
    file: 'transactions/findOneAndDelete.json',
    ...commitWtimeout,
    tests: ['collection writeConcern ignored for findOneAndDelete'],
  },
  {
    file: 'transactions/findOneAndReplace.json',
    ...commitWtimeout,
    tests: ['collection writeConcern ignored for findOneAndReplace'],
  },
  {
    file: 'transactions/findOneAndUpdate.json',
    ...commitWtimeout,
    tests: ['collection writeConcern ignored for findOneAndUpdate'],
  },
  { file: 'transactions/insert.json', ...commitWtimeout, tests: ['collection writeConcern ignored for insert'] },
  {
    file: 'transactions/transaction-options.json',
    ...commitWtimeout,
    tests: [
      'transaction options inherited from client',
      'transaction options inherited from defaultTransactionOptions',
      'startTransaction options override defaults',
      'defaultTransactionOptions override client options',
      'readConcern local in defaultTransactionOptions',
      'client writeConcern ignored for bulk',
    ],
  },
  { file: 'transactions/update.json', ...commitWtimeout, tests: ['collections writeConcern ignored for update'] },
  {
    file: 'transactions/write-concern.json',
    ...commitWtimeout,
    tests: ['commit with majority', 'abort with majority'],
  },
  {
    file: 'unified-test-format-valid-pass/poc-transactions-convenient-api.json',
    ...commitWtimeout,
    tests: [
      'withTransaction inherits transaction options from client',
      'withTransaction inherits transaction options from defaultTransactionOptions',
      'withTransaction explicit transaction options',
    ],
  },
  // The fail-point tests of commit and abort (configureFailPoint, since the fail points exist).
  {
    file: 'transactions/error-labels-errorLabels.json',
    ...commitWtimeout,
    tests: [
      'add RetryableWriteError and UnknownTransactionCommitResult labels to writeConcernError ShutdownInProgress',
    ],
  },
  {
    file: 'transactions/error-labels.json',
    ...commitWtimeout,
    tests: [
      'add UnknownTransactionCommitResult label to writeConcernError WriteConcernTimeout',
      'add UnknownTransactionCommitResult label to writeConcernError WriteConcernTimeout with wtimeout',
      'omit UnknownTransactionCommitResult label from writeConcernError UnsatisfiableWriteConcern',
      'omit UnknownTransactionCommitResult label from writeConcernError UnknownReplWriteConcern',
      'add UnknownTransactionCommitResult label to MaxTimeMSExpired',
      'add UnknownTransactionCommitResult label to writeConcernError MaxTimeMSExpired',
    ],
  },
  {
    file: 'transactions/retryable-abort-errorLabels.json',
    ...commitWtimeout,
    tests: [
      'abortTransaction succeeds after WriteConcernError InterruptedAtShutdown',
      'abortTransaction succeeds after WriteConcernError InterruptedDueToReplStateChange',
      'abortTransaction succeeds after WriteConcernError PrimarySteppedDown',
      'abortTransaction succeeds after WriteConcernError ShutdownInProgress',
    ],
  },
  {
    file: 'transactions/retryable-abort.json',
    ...commitWtimeout,
    tests: ['abortTransaction does not retry after WriteConcernError Interrupted'],
  },
  {
    file: 'transactions/retryable-commit-errorLabels.json',
    ...commitWtimeout,
    tests: [
      'commitTransaction succeeds after WriteConcernError InterruptedAtShutdown',
      'commitTransaction succeeds after WriteConcernError InterruptedDueToReplStateChange',
      'commitTransaction succeeds after WriteConcernError PrimarySteppedDown',
      'commitTransaction succeeds after WriteConcernError ShutdownInProgress',
    ],
  },
  {
    file: 'transactions/client-bulkWrite.json',
    ...commitWtimeout,
    tests: ['client writeConcern ignored for client bulkWrite in transaction'],
  },
  {
    file: 'transactions/retryable-commit.json',
    ...commitWtimeout,
    tests: ['commitTransaction is not retried after UnsatisfiableWriteConcern error'],
  },
  {
    file: 'crud/bypassDocumentValidation.json',
    ...bypassFalse,
    tests: [
      'Aggregate with $out passes bypassDocumentValidation: false',
      'BulkWrite passes bypassDocumentValidation: false',
      'FindOneAndReplace passes bypassDocumentValidation: false',
      'FindOneAndUpdate passes bypassDocumentValidation: false',
      'InsertMany passes bypassDocumentValidation: false',
    ],
  },
];
