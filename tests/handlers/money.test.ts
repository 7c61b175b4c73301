import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_AMOUNT } from '#lib/schemas/money';
import { api, useApiDatabase } from '../support/api.ts';

useApiDatabase('handlers_money');

const HOUR = 3_600_000;
let nextSlot = Date.parse('2031-01-01T00:00:00Z');
/** An instant far from every other order of this file. */
function freeSlot(): string {
  nextSlot += 4 * HOUR;
  return new Date(nextSlot).toISOString();
}

/** The totalfee exactly as the JSON text of a response writes it. */
function totalfeeText(rawBody: string | undefined): string | undefined {
  return /"totalfee":([^,}]+)/.exec(rawBody ?? '')?.[1];
}

/** Decimal text without trailing fractional zeros: "120.50" → "120.5", "7.00" → "7". */
function withoutTrailingZeros(text: string): string {
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
}

function orderText(totalfee: string): string {
  return `{"datetime":"${freeSlot()}","totalfee":${totalfee},"services":[{"id":"svc"}]}`;
}

beforeAll(async () => {
  expect((await api.createService({ id: 'svc', name: 'Inspection' })).status).toBe(201);
});

describe('money through create and get', () => {
  it('stores the issue examples and answers them exactly as written', async () => {
    for (const amount of ['111848.18', '633552.32', '1234567.89', '9747175377301.71']) {
      const created = await api.createOrder(orderText(amount));
      expect(created.status).toBe(201);
      const read = await api.getOrder((created.body as { id: string }).id);
      expect(totalfeeText(read.rawBody)).toBe(amount);
    }
  });

  it('round-trips any amount with at most two decimals in range, exactly as written', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: MAX_AMOUNT * 100 }),
        fc.constantFrom(0, 1, 2),
        async (cents, places) => {
          const whole = Math.floor(cents / 100);
          const text =
            places === 0
              ? String(whole)
              : `${whole}.${String(cents % 100).padStart(2, '0')}`.slice(0, places === 1 ? -1 : undefined);
          const created = await api.createOrder(orderText(text));
          expect(created.status).toBe(201);
          const read = await api.getOrder((created.body as { id: string }).id);
          expect(totalfeeText(read.rawBody)).toBe(withoutTrailingZeros(text));
        },
      ),
      { numRuns: 60 },
    );
  });

  it.each([['111848.181'], ['0.001'], ['1.005'], ['9999999999999.991'], ['100.000000000000001']])(
    'refuses %s (three or more decimals) with a 400 and stores nothing',
    async (amount) => {
      const response = await api.createOrder(orderText(amount));
      expect(response.status).toBe(400);
      expect(response.headers['content-type']).toBe('application/problem+json');
    },
  );
});
