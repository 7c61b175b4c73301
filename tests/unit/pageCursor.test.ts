import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePageCursor, encodePageCursor } from '#lib/domain/pageCursor';

describe('page cursors', () => {
  it('round-trips every position', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
        fc.option(fc.integer({ min: -8.64e15, max: 8.64e15 }), { nil: undefined }),
        (id, at) => {
          const position = at === undefined ? { id } : { id, at };
          expect(decodePageCursor(encodePageCursor(position))).toEqual(position);
        },
      ),
    );
  });

  it('is URL-safe', () => {
    expect(encodePageCursor({ id: 'x', at: 1 })).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it.each([
    ['not base64 JSON', 'bm90IGpzb24'],
    ['an object', Buffer.from('{"id":"x"}').toString('base64url')],
    ['an operator as id', Buffer.from('["$gt"]').toString('base64url')],
    ['a non-numeric position', Buffer.from('["x","soon"]').toString('base64url')],
    ['a date out of range', Buffer.from('["x",9e15]').toString('base64url')],
  ])('rejects %s', (_label, token) => {
    expect(decodePageCursor(token)).toBeUndefined();
  });
});
