/** Awaits an operation that must fail on the server, and returns its MongoServerError. */
import { MongoServerError } from 'mongodb';
import { expect } from 'vitest';

/** The MongoServerError `operation` rejects with; fails the test if it succeeds or fails otherwise. */
export async function serverError(operation: Promise<unknown>): Promise<MongoServerError> {
  const err = await operation.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MongoServerError);
  return err as MongoServerError;
}
