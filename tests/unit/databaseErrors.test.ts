import { MongoNetworkError, MongoServerError, MongoServerSelectionError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { TransactionBudgetExceededError } from '#lib/db/transactions';
import { isDatabaseUnavailable, isWriteContention } from '#lib/db/unavailable';

function serverError(code: number, labels: string[] = []): MongoServerError {
  const error = new MongoServerError({ ok: 0, code, errmsg: `code ${code}` });
  for (const label of labels) error.addErrorLabel(label);
  return error;
}

describe('which database errors are a 503', () => {
  it.each([
    ['server selection', new MongoServerSelectionError('no primary', { type: 'Unknown' } as never)],
    ['a network error', new MongoNetworkError('reset')],
    ['a write conflict', serverError(112, ['TransientTransactionError'])],
    ['a step-down', serverError(189)],
    ['not primary', serverError(10107)],
    ['an unknown commit result', serverError(64, ['UnknownTransactionCommitResult'])],
    ['a time limit', serverError(50)],
  ])('%s is', (_label, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a duplicate key', serverError(11000)],
    ['a bad value', serverError(2)],
    ['a plain Error', new Error('bug')],
    ['a string', 'nope'],
  ])('%s is not', (_label, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});

describe('the transaction budget', () => {
  it('is a 503 when write conflicts outlast it', () => {
    expect(isDatabaseUnavailable(new TransactionBudgetExceededError(3))).toBe(true);
  });

  it('is told apart from an unreachable database', () => {
    expect(isWriteContention(new TransactionBudgetExceededError(3))).toBe(true);
    expect(
      isWriteContention(new TransactionBudgetExceededError(3, serverError(112, ['TransientTransactionError']))),
    ).toBe(true);
    // Network errors are retried the same way; running out of budget on them is an outage.
    expect(isWriteContention(new TransactionBudgetExceededError(3, new MongoNetworkError('reset')))).toBe(false);
    expect(isDatabaseUnavailable(new TransactionBudgetExceededError(3, new MongoNetworkError('reset')))).toBe(true);
    expect(isWriteContention(serverError(112, ['TransientTransactionError']))).toBe(true);
    expect(isWriteContention(new MongoNetworkError('reset'))).toBe(false);
    expect(isWriteContention(serverError(189))).toBe(false);
  });
});

/** An error of the given class name (the HTTP layer tells errors apart by name, not by driver class). */
function namedError(name: string, fields: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(name), { name }, fields);
}

describe('every kind of unavailability the 503 mapping lists', () => {
  it.each([
    'MongoServerSelectionError',
    'MongoNetworkError',
    'MongoNetworkTimeoutError',
    'MongoTopologyClosedError',
    'MongoNotConnectedError',
    'MongoPoolClearedError',
    'MongoOperationTimeoutError',
    'TransactionBudgetExceededError',
  ])('%s is a 503 by its name alone', (name) => {
    expect(isDatabaseUnavailable(namedError(name))).toBe(true);
  });

  it.each([
    [112, 'WriteConflict'],
    [10107, 'NotWritablePrimary'],
    [13435, 'NotPrimaryNoSecondaryOk'],
    [13436, 'NotPrimaryOrSecondary'],
    [189, 'PrimarySteppedDown'],
    [11602, 'InterruptedDueToReplStateChange'],
    [11600, 'InterruptedAtShutdown'],
    [91, 'ShutdownInProgress'],
    [50, 'MaxTimeMSExpired'],
    [262, 'ExceededTimeLimit'],
  ])('server code %i (%s) without any label is a 503', (code) => {
    expect(isDatabaseUnavailable(serverError(code))).toBe(true);
  });

  it.each(['TransientTransactionError', 'RetryableWriteError', 'UnknownTransactionCommitResult'])(
    'a server error labelled %s is a 503 whatever its code',
    (label) => {
      expect(isDatabaseUnavailable(serverError(2, [label]))).toBe(true);
      expect(isDatabaseUnavailable(serverError(2, ['SomeOtherLabel']))).toBe(false);
    },
  );

  it('reads codes and labels only on MongoDB errors: our own error with code 112 or a label is a bug (500)', () => {
    expect(isDatabaseUnavailable(namedError('TypeError', { code: 112 }))).toBe(false);
    expect(isDatabaseUnavailable(namedError('Error', { errorLabels: ['TransientTransactionError'] }))).toBe(false);
    expect(isDatabaseUnavailable(namedError('MongoSomethingError', { code: '112' }))).toBe(false);
    expect(isDatabaseUnavailable(namedError('MongoSomethingError', { errorLabels: 'TransientTransactionError' }))).toBe(
      false,
    );
    expect(isWriteContention(namedError('TypeError', { code: 112 }))).toBe(false);
    expect(isWriteContention(namedError('MongoSomethingError', { code: 112 }))).toBe(true);
    expect(isWriteContention('WriteConflict')).toBe(false);
  });
});
