import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { windowLockKeys, windowMs } from '#lib/domain/orderWindow';
import {
  allServiceGuardKeys,
  SERVICE_GUARD_STRIPES,
  serviceGuardKey,
  serviceGuardStripe,
} from '#lib/domain/serviceGuard';

const WINDOW = windowMs(180);
const instant = fc.integer({ min: -1e13, max: 1e13 }).map((ms) => new Date(ms));

describe('service guard stripes', () => {
  it('give every order write a stripe that a delete also writes', () => {
    fc.assert(
      fc.property(instant, (datetime) => {
        const stripe = serviceGuardStripe(datetime, WINDOW);
        expect(Number.isInteger(stripe) && stripe >= 0 && stripe < SERVICE_GUARD_STRIPES).toBe(true);
        expect(allServiceGuardKeys('123')).toContain(serviceGuardKey('123', stripe));
      }),
    );
  });

  it('differ for orders in different buckets less than the stripe count apart', () => {
    const start = Date.parse('2030-01-01T00:00:00Z');
    const stripes = new Set(
      Array.from({ length: SERVICE_GUARD_STRIPES }, (_, i) => serviceGuardStripe(new Date(start + i * WINDOW), WINDOW)),
    );
    expect(stripes.size).toBe(SERVICE_GUARD_STRIPES);
  });

  it('never share a key with a window lock or with another service', () => {
    fc.assert(
      fc.property(instant, fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), (datetime, serviceId) => {
        const guards = new Set(allServiceGuardKeys(serviceId));
        for (const lock of windowLockKeys(datetime, WINDOW)) expect(guards.has(lock)).toBe(false);
        expect(guards.has(serviceGuardKey(`${serviceId}x`, 0))).toBe(false);
      }),
    );
  });
});
