import { describe, expect, it } from 'vitest';
import { parseDateTime } from '#lib/domain/datetime';
import { InvalidInputError } from '#lib/domain/errors';

describe('parseDateTime', () => {
  it("reads RFC 3339's lower-case and space-separated forms as the same instant as the T…Z form, in every year", () => {
    for (const [value, instant] of [
      ['0031-12-31 23:59:59Z', '0031-12-31T23:59:59.000Z'],
      ['0031-12-31t23:59:59.123456789z', '0031-12-31T23:59:59.123Z'],
      ['2022-11-01 11:11:11.5+05:30', '2022-11-01T05:41:11.500Z'],
      ['2022-11-01T11:11:11-00:00', '2022-11-01T11:11:11.000Z'],
    ]) {
      expect(parseDateTime(value as string, '/datetime', 'body').toISOString(), value).toBe(instant);
    }
  });

  it('refuses an instant that an offset carries outside years 0000 to 9999 in UTC', () => {
    for (const value of ['0000-01-01T00:00:00+01:00', '9999-12-31T23:30:00-01:00']) {
      expect(() => parseDateTime(value, '/datetime', 'body'), value).toThrow(InvalidInputError);
    }
    expect(parseDateTime('0000-01-01T00:00:00Z', '/from', 'query').toISOString()).toBe('0000-01-01T00:00:00.000Z');
  });
});
