import { MongoServerError } from 'mongodb';

/** True for a duplicate key error (E11000). */
export function isDuplicateKeyError(error: unknown): error is MongoServerError {
  return error instanceof MongoServerError && error.code === 11000;
}
