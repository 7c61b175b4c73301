import { type Static, type TString, Type } from '@sinclair/typebox';
import { ID_PATTERN } from '#lib/domain/ids';
import { PROBLEMS } from '#lib/http/problems';

/** A resource id as it appears in paths and responses. */
export const ResourceId = Type.String({
  pattern: ID_PATTERN,
  description: '1 to 64 characters of A-Z a-z 0-9 _ -',
  examples: ['223'],
});

/** An id a client may choose on create: a string id, or a non-negative integer that becomes its decimal string. */
export function clientChosenId(stringId: TString) {
  return Type.Union([stringId, Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })]);
}

/** A service's id as a client may choose it on create. */
export const ClientChosenId = clientChosenId(ResourceId);

/**
 * An instant with an explicit zone (`Z` or an offset), as RFC 3339 defines it. The pattern only
 * refuses a leap second (`:60`), which RFC 3339 allows and a JavaScript Date cannot hold; the
 * format checks the rest.
 */
export const DateTimeString = Type.String({
  format: 'date-time',
  pattern: '^\\d{4}-\\d{2}-\\d{2}.\\d{2}:\\d{2}:[0-5]\\d',
  description: 'An RFC 3339 date-time with `Z` or an offset, within years 0000 to 9999 in UTC, without a leap second',
  examples: ['2022-11-24T12:00:00Z'],
});

/** Path parameters of every `/{collection}/{id}` route. */
export const IdPathParameters = Type.Object({ id: ResourceId }, { additionalProperties: false });
export type IdPathParameters = Static<typeof IdPathParameters>;

/** Page size and continuation shared by the list routes. */
export const PageQueryProperties = {
  // A decimal string from 1 to 100, not an integer with ajv's type coercion: coercion lets
  // "Infinity", "1e400" and "0x10" through as numbers and then skips the range checks.
  limit: Type.Optional(
    Type.String({
      pattern: '^(?:[1-9][0-9]?|100)$',
      description: 'Page size, 1 to 100 (default 20)',
      examples: ['20'],
    }),
  ),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_-]+$' })),
};

/** The problem details body (RFC 9457) every error answers with. */
export const ProblemDetails = Type.Object({
  // The types the server sends (lib/http/problems.ts), so clients can switch on them.
  type: Type.Unsafe<string>({
    type: 'string',
    enum: [...new Set(Object.values(PROBLEMS).map((kind) => kind.type))],
    description: 'Which problem it is, for a program to act on: `about:blank` when the status says all there is to say',
  }),
  title: Type.String(),
  status: Type.Integer({ minimum: 400, maximum: 599 }),
  detail: Type.String(),
  instance: Type.Optional(Type.String()),
  errors: Type.Optional(
    Type.Array(
      Type.Object({
        in: Type.Union([Type.Literal('body'), Type.Literal('query'), Type.Literal('path'), Type.Literal('header')]),
        pointer: Type.String(),
        detail: Type.String(),
      }),
    ),
  ),
  conflictingOrderId: Type.Optional(Type.String()),
  nearestAvailable: Type.Optional(
    Type.Object(
      {
        before: Type.Optional(Type.String({ format: 'date-time' })),
        after: Type.Optional(Type.String({ format: 'date-time' })),
      },
      {
        additionalProperties: false,
        description:
          'With a window conflict: the nearest datetimes before and after the requested one that the rule accepts, ' +
          'each looked for up to a week away (absent when none is found)',
      },
    ),
  ),
  missingServiceIds: Type.Optional(Type.Array(Type.String())),
  correlationId: Type.Optional(Type.String()),
});
export type ProblemDetails = Static<typeof ProblemDetails>;
