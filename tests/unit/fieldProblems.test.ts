/**
 * How ajv's errors become the 400's field list (fieldProblems), on hand-made error lists: pointers
 * escaped per RFC 6901, a reserved id named as such whether or not an `anyOf` summarises it, the
 * id summary only on id fields, and a message for errors ajv left without one.
 */
import { describe, expect, it } from 'vitest';
import { fieldProblems } from '#lib/http/middleware/validateRequest';

const error = (keyword: string, instancePath: string, params: Record<string, unknown> = {}, message?: string) => ({
  keyword,
  instancePath,
  params,
  ...(message === undefined ? {} : { message }),
});
const RESERVED = 'is reserved: a route of its own has this name';

describe('field problems from ajv errors', () => {
  it('escapes ~ and / in a missing or unknown field name (RFC 6901)', () => {
    expect(
      fieldProblems('body', [
        error('required', '/x', { missingProperty: 'a/b~c' }),
        error('additionalProperties', '', { additionalProperty: '~/~' }),
      ]),
    ).toEqual([
      { in: 'body', pointer: '/x/a~1b~0c', detail: 'is required' },
      { in: 'body', pointer: '/~0~1~0', detail: 'is not a known field' },
    ]);
  });

  it('names a reserved id once, as reserved, when an anyOf summarises the same field', () => {
    expect(
      fieldProblems('body', [
        error('not', '/id', {}, 'must NOT be valid'),
        error('type', '/id', {}, 'must be string'),
        error('anyOf', '/id', {}, 'must match a schema in anyOf'),
      ]),
    ).toEqual([{ in: 'body', pointer: '/id', detail: RESERVED }]);
  });

  it('names a reserved value as reserved without an anyOf too', () => {
    expect(fieldProblems('path', [error('not', '/name', {}, 'must NOT be valid')])).toEqual([
      { in: 'path', pointer: '/name', detail: RESERVED },
    ]);
  });

  it('summarises an anyOf on an id field as the id rule, and elsewhere keeps ajv’s message', () => {
    expect(
      fieldProblems('body', [
        error('pattern', '/services/0/id', {}, 'must match pattern'),
        error('anyOf', '/services/0/id', {}, 'must match a schema in anyOf'),
        error('anyOf', '/idle', {}, 'must match a schema in anyOf'),
        error('anyOf', '/identity/x', {}, 'must match a schema in anyOf'),
      ]),
    ).toEqual([
      {
        in: 'body',
        pointer: '/services/0/id',
        detail: 'must be 1 to 64 characters of A-Z a-z 0-9 _ - or a non-negative integer',
      },
      { in: 'body', pointer: '/idle', detail: 'must match a schema in anyOf' },
      { in: 'body', pointer: '/identity/x', detail: 'must match a schema in anyOf' },
    ]);
  });

  it('drops if-errors, and names the keyword when ajv gave no message', () => {
    expect(fieldProblems('query', [error('if', '/a'), error('minimum', '/limit')])).toEqual([
      { in: 'query', pointer: '/limit', detail: 'fails minimum' },
    ]);
  });
});
