import { describe, expect, it } from 'vitest';
import { DuplicateIdError } from '#lib/domain/errors';

describe('error messages', () => {
  it('use the right article for each resource', () => {
    expect(new DuplicateIdError('service', '123').message).toBe("A service with id '123' already exists");
    expect(new DuplicateIdError('order', '223').message).toBe("An order with id '223' already exists");
  });
});
