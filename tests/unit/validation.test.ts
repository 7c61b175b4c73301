import { describe, expect, it } from 'vitest';
import { fieldProblems } from '#lib/http/middleware/validateRequest';
import { validateOrderInput, validateServiceInput } from '#lib/schemas/bodyValidators';
import { validateIdPath, validateOrderListQuery } from '#lib/schemas/parameterValidators';

const order = { datetime: '2022-11-24T12:00:00Z', totalfee: 100, services: [{ id: '123' }] };

function problemsOf(valid: boolean, errors: unknown) {
  expect(valid).toBe(false);
  return fieldProblems('body', (errors ?? []) as never);
}

describe('order body schema', () => {
  it('accepts the assignment sample and client ids as strings or integers', () => {
    expect(validateOrderInput(order)).toBe(true);
    expect(validateOrderInput({ ...order, id: 223 })).toBe(true);
    expect(validateOrderInput({ ...order, id: 'ord_1-A' })).toBe(true);
  });

  it('accepts offsets and two-decimal fees such as 0.07', () => {
    expect(validateOrderInput({ ...order, datetime: '2022-11-24T12:00:00.123+05:30', totalfee: 0.07 })).toBe(true);
  });

  it('points at an unknown field, catching totalFee for totalfee', () => {
    const { totalfee: _, ...rest } = order;
    const problems = problemsOf(validateOrderInput({ ...rest, totalFee: 1 }), validateOrderInput.errors);
    expect(problems).toEqual(
      expect.arrayContaining([
        { in: 'body', pointer: '/totalFee', detail: 'is not a known field' },
        { in: 'body', pointer: '/totalfee', detail: 'is required' },
      ]),
    );
  });

  it.each([
    ['a datetime without zone', { datetime: '2022-11-24T12:00:00' }, '/datetime'],
    ['a date only', { datetime: '2022-11-24' }, '/datetime'],
    ['a negative fee', { totalfee: -1 }, '/totalfee'],
    ['three decimals', { totalfee: 1.005 }, '/totalfee'],
    ['a fee as string', { totalfee: '100' }, '/totalfee'],
    ['no services', { services: [] }, '/services'],
    ['51 services', { services: Array.from({ length: 51 }, (_, i) => ({ id: String(i) })) }, '/services'],
    ['an operator as service id', { services: [{ id: { $gt: '' } }] }, '/services/0/id'],
    ['a $-string id', { id: '$where' }, '/id'],
    ['an object id', { id: { $ne: null } }, '/id'],
    ['a negative id', { id: -1 }, '/id'],
    ['a fractional id', { id: 1.5 }, '/id'],
    ['a 65-character id', { id: 'x'.repeat(65) }, '/id'],
  ])('rejects %s', (_label, change, pointer) => {
    const problems = problemsOf(validateOrderInput({ ...order, ...change }), validateOrderInput.errors);
    expect(problems.map((p) => p.pointer)).toContain(pointer);
  });

  it('rejects a body that is not an object', () => {
    for (const body of [null, [], 'order', 42]) expect(validateOrderInput(body)).toBe(false);
  });
});

describe('service body schema', () => {
  it('accepts a name of 1 to 200 characters', () => {
    expect(validateServiceInput({ name: 'I' })).toBe(true);
    expect(validateServiceInput({ id: 123, name: 'x'.repeat(200) })).toBe(true);
  });

  it.each([
    ['an empty name', { name: '' }],
    ['a blank name', { name: '   ' }],
    ['201 characters', { name: 'x'.repeat(201) }],
    ['an unknown field', { name: 'x', price: 1 }],
  ])('rejects %s', (_label, body) => {
    expect(validateServiceInput(body)).toBe(false);
  });
});

describe('parameters', () => {
  it('accepts limit as the decimal string a query string carries, from 1 to 100', () => {
    for (const limit of ['1', '20', '99', '100']) expect(validateOrderListQuery({ limit })).toBe(true);
  });

  it.each([
    ['0'],
    ['101'],
    ['abc'],
    ['1,2'],
    ['1.5'],
    ['Infinity'],
    ['-Infinity'],
    ['1e400'],
    ['0x10'],
    ['1e1'],
    ['020'],
    [' 5'],
  ])('rejects limit=%s', (limit) => {
    expect(validateOrderListQuery({ limit })).toBe(false);
  });

  it('rejects unknown query parameters and dates without zone', () => {
    expect(validateOrderListQuery({ sort: 'x' })).toBe(false);
    expect(validateOrderListQuery({ from: '2022-11-24' })).toBe(false);
  });

  it.each([['$where'], ['a.b'], ['x'.repeat(65)], ['']])('rejects the path id %j', (id) => {
    expect(validateIdPath({ id })).toBe(false);
  });
});
