/**
 * Details of lib/domain that StrykerJS found no test for: what the domain errors say (their
 * messages become a problem's `detail`, their names the `error.name` in logs), If-Match `*`,
 * the shape of generated ids, and page cursors that look almost right.
 */
import { describe, expect, it } from 'vitest';
import { parseDateTime } from '#lib/domain/datetime';
import {
  DuplicateIdError,
  InvalidInputError,
  NotFoundError,
  ServiceInUseError,
  UnknownServicesError,
} from '#lib/domain/errors';
import { assertUsableOrderId, generateId, ID_PATTERN } from '#lib/domain/ids';
import { assertOutsideWindow, windowLockKeys } from '#lib/domain/orderWindow';
import { decodePageCursor } from '#lib/domain/pageCursor';
import { PreconditionFailedError, satisfiesPrecondition } from '#lib/domain/versions';

const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('domain errors', () => {
  it.each([
    [new NotFoundError('order', '7'), 'NotFoundError', "No order with id '7'"],
    [new DuplicateIdError('order', '7'), 'DuplicateIdError', "An order with id '7' already exists"],
    [new DuplicateIdError('service', 's'), 'DuplicateIdError', "A service with id 's' already exists"],
    [new UnknownServicesError(['a', 'b']), 'UnknownServicesError', 'These services do not exist: a, b'],
    [
      new ServiceInUseError('s', '7'),
      'ServiceInUseError',
      "Service 's' is referenced by order '7' and cannot be deleted",
    ],
    [new InvalidInputError('/id', 'body', 'is wrong'), 'InvalidInputError', 'is wrong'],
    [
      new PreconditionFailedError('service', 's', 3),
      'PreconditionFailedError',
      "The service 's' has changed (it is now at version 3); fetch it again and retry",
    ],
  ])('%s is named and says what happened', (error, name, message) => {
    expect(error.name).toBe(name);
    expect(error.message).toBe(message);
  });

  it('name the value a date-time or an order id was refused for', () => {
    expect(() => parseDateTime('2016-12-31T23:59:60Z', '/datetime', 'body')).toThrow(
      "'2016-12-31T23:59:60Z' is not a date-time this API can store",
    );
    expect(() => assertUsableOrderId('availability')).toThrow(
      "'availability' is reserved: GET /orders/availability is a route of its own",
    );
    expect(assertUsableOrderId('available')).toBe('available');
  });
});

describe('If-Match preconditions', () => {
  it('allow any version for `*` or no header, and only the listed versions otherwise', () => {
    expect(satisfiesPrecondition('*', 1)).toBe(true);
    expect(satisfiesPrecondition('*', 42)).toBe(true);
    expect(satisfiesPrecondition(undefined, 3)).toBe(true);
    expect(satisfiesPrecondition([2, 3], 3)).toBe(true);
    expect(satisfiesPrecondition([2, 3], 4)).toBe(false);
    expect(satisfiesPrecondition([], 1)).toBe(false);
  });
});

describe('generated ids', () => {
  it('are 20 URL-safe characters that sort by creation time, also across a longer time prefix', () => {
    const early = generateId(new Date(Date.UTC(1971, 0, 1)));
    const now = generateId(new Date(Date.UTC(2026, 0, 1)));
    for (const id of [early, now]) {
      expect(id).toHaveLength(20);
      expect(id).toMatch(new RegExp(ID_PATTERN));
    }
    expect(early < now).toBe(true);
  });
});

describe('the rule as an assertion', () => {
  it('throws only for a conflict: exactly 3 h away passes', () => {
    const base = { id: 'a', datetime: new Date('2030-01-01T12:00:00Z') };
    const window = 3 * 3_600_000;
    expect(() =>
      assertOutsideWindow({ id: 'b', datetime: new Date('2030-01-01T15:00:00Z') }, [base], window),
    ).not.toThrow();
  });
});

describe('window lock keys', () => {
  it('are `<window>:<bucket>` for the bucket and the next one: old and new containers must write the same documents', () => {
    const window = 3 * 3_600_000;
    expect(windowLockKeys(new Date(5 * window + 1), window)).toEqual([`${window}:5`, `${window}:6`]);
    expect(windowLockKeys(new Date(-1), window)).toEqual([`${window}:-1`, `${window}:0`]);
  });
});

describe('page cursors that are almost right', () => {
  it.each([
    ['three elements', cursor(['x', 1, 2])],
    ['a numeric id', cursor([5])],
    ['a fractional position', cursor(['x', 1.5])],
    ['an empty array', cursor([])],
  ])('rejects %s', (_label, token) => {
    expect(decodePageCursor(token)).toBeUndefined();
  });
});
