import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '#lib/domain/errors';
import { assertDistinctServices } from '#lib/domain/orderServices';
import { nestingDepthExceeds } from '#lib/http/middleware/jsonBody';
import { MAX_LISTED_ERRORS, validationProblem } from '#lib/http/problems';

describe('distinct services', () => {
  it('accepts distinct ids', () => {
    expect(() => assertDistinctServices([{ id: 'a' }, { id: 'b' }])).not.toThrow();
  });

  it('points at the repeat and names the first occurrence', () => {
    try {
      assertDistinctServices([{ id: 'a' }, { id: 'b' }, { id: 'a' }]);
      expect.unreachable('should have thrown');
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidInputError);
      expect(error).toMatchObject({ pointer: '/services/2', where: 'body' });
      expect((error as Error).message).toContain('/services/0');
    }
  });
});

describe('nesting depth', () => {
  it('allows what valid bodies need', () => {
    expect(nestingDepthExceeds(JSON.stringify({ services: [{ id: 'x' }] }), 32)).toBe(false);
  });

  it('catches 100,000 levels without parsing or recursion', () => {
    expect(nestingDepthExceeds(`${'['.repeat(100_000)}${']'.repeat(100_000)}`, 32)).toBe(true);
  });

  it('counts objects and arrays alike, at exactly the limit', () => {
    let value: unknown = 1;
    for (let i = 0; i < 32; i++) value = i % 2 ? [value] : { v: value };
    expect(nestingDepthExceeds(JSON.stringify(value), 32)).toBe(false);
    expect(nestingDepthExceeds(JSON.stringify([value]), 32)).toBe(true);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ name: `${'['.repeat(100)}"\\${'{'.repeat(100)}` });
    expect(nestingDepthExceeds(text, 32)).toBe(false);
  });
});

describe('validation problems', () => {
  it(`list at most ${MAX_LISTED_ERRORS} fields and say how many more there were`, () => {
    const errors = Array.from({ length: 500 }, (_, i) => ({
      in: 'body' as const,
      pointer: `/services/${i}`,
      detail: 'bad',
    }));
    const problem = validationProblem(errors).problem;
    expect(problem.errors).toHaveLength(MAX_LISTED_ERRORS);
    expect(problem.detail).toContain('and 480 more');
  });
});
