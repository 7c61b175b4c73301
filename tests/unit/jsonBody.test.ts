/**
 * The JSON body middleware on its own: which content types count as JSON, the exact size limit
 * (in bytes of the body as sent, base64 included), depth counted by closing brackets too, and the
 * detail of each refusal. tests/unit/requestLimits.test.ts and the handler tests cover the rest.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { jsonBody, MAX_BODY_BYTES, nestingDepthExceeds } from '#lib/http/middleware/jsonBody';
import { HttpProblem } from '#lib/http/problems';

type Request = Parameters<NonNullable<ReturnType<typeof jsonBody>['before']>>[0];

/** Runs the middleware; the parsed body, or the problem it raised. */
async function parse(
  body: string | undefined,
  /** null: no content-type header at all. */
  contentType: string | null = 'application/json',
  isBase64Encoded = false,
): Promise<{ body?: unknown; problem?: HttpProblem['problem'] }> {
  const event = {
    headers: contentType === null ? {} : { 'content-type': contentType },
    body,
    isBase64Encoded,
  } as unknown as APIGatewayProxyEventV2;
  const request = { event } as unknown as Request;
  try {
    await jsonBody().before?.(request);
    return { body: request.event.body };
  } catch (error) {
    if (error instanceof HttpProblem) return { problem: error.problem };
    throw error;
  }
}

describe('the JSON body: content type', () => {
  it.each([
    'application/json',
    'APPLICATION/JSON',
    'application/json; charset=utf-8',
    'application/json ;charset=utf-8',
    'application/problem+json',
    'application/vnd.api.v2+json',
  ])('accepts %s', async (contentType) => {
    expect(await parse('{"a":1}', contentType)).toEqual({ body: { a: 1 } });
  });

  it.each([
    'text/plain',
    'application/jsonp',
    'application/json-seq',
    'x-application/json',
    'application/+json',
    'application/a b+json',
    'application/json5',
  ])('refuses %s with a 415 naming it', async (contentType) => {
    const { problem } = await parse('{"a":1}', contentType);
    expect(problem).toMatchObject({
      status: 415,
      detail: `Send the body as application/json (got '${contentType}')`,
    });
  });

  it('says when there is no content type at all', async () => {
    for (const contentType of [null, '']) {
      expect((await parse('{"a":1}', contentType)).problem).toMatchObject({
        status: 415,
        detail: "Send the body as application/json (got 'no content type')",
      });
    }
  });

  it('refuses a request with no headers object as having no content type', async () => {
    const request = { event: { body: '{}' } } as unknown as Request;
    await expect(jsonBody().before?.(request)).rejects.toMatchObject({ problem: { status: 415 } });
  });
});

describe('the JSON body: size', () => {
  const sized = (bytes: number): string => `{"a":"${'x'.repeat(bytes - 8)}"}`;

  it('accepts exactly the limit and refuses one byte more, counting bytes not characters', async () => {
    expect(sized(MAX_BODY_BYTES)).toHaveLength(MAX_BODY_BYTES);
    expect((await parse(sized(MAX_BODY_BYTES))).problem).toBeUndefined();
    expect((await parse(sized(MAX_BODY_BYTES + 1))).problem).toMatchObject({
      status: 413,
      detail: `The body is ${MAX_BODY_BYTES + 1} bytes; the limit is ${MAX_BODY_BYTES}`,
    });
    // 'é' is two bytes in UTF-8.
    const accented = `{"a":"${'é'.repeat(MAX_BODY_BYTES / 2 - 2)}"}`;
    expect(accented.length).toBeLessThan(MAX_BODY_BYTES);
    expect((await parse(accented)).problem?.status).toBe(413);
  });

  it('measures a base64 body by what it decodes to, and parses the decoded text', async () => {
    const text = sized(MAX_BODY_BYTES);
    const encoded = Buffer.from(text).toString('base64');
    expect(encoded.length).toBeGreaterThan(MAX_BODY_BYTES);
    expect((await parse(encoded, 'application/json', true)).problem).toBeUndefined();
    expect(await parse(Buffer.from('{"n":[1,2]}').toString('base64'), 'application/json', true)).toEqual({
      body: { n: [1, 2] },
    });
    const tooBig = Buffer.from(sized(MAX_BODY_BYTES + 1)).toString('base64');
    expect((await parse(tooBig, 'application/json', true)).problem?.status).toBe(413);
  });
});

describe('the JSON body: depth and parsing', () => {
  it('counts closing brackets, so many shallow siblings are not deep', () => {
    const siblings = `[${Array.from({ length: 40 }, () => '[]').join(',')}]`;
    expect(nestingDepthExceeds(siblings, 32)).toBe(false);
    const objects = `[${Array.from({ length: 40 }, () => '{}').join(',')}]`;
    expect(nestingDepthExceeds(objects, 32)).toBe(false);
    expect(nestingDepthExceeds(`${'['.repeat(32)}${']'.repeat(32)}`, 32)).toBe(false);
    expect(nestingDepthExceeds(`${'{"a":'.repeat(33)}1${'}'.repeat(33)}`, 32)).toBe(true);
  });

  it('refuses a deep body with a 400 naming the limit', async () => {
    expect((await parse(`${'['.repeat(33)}${']'.repeat(33)}`)).problem).toMatchObject({
      status: 400,
      detail: 'The body is nested more than 32 levels deep',
    });
  });

  it('tells a forbidden key from malformed JSON', async () => {
    expect((await parse('{"__proto__":{"x":1}}')).problem).toMatchObject({
      status: 400,
      detail: 'The body has a forbidden key (__proto__ or constructor)',
    });
    expect((await parse('{"a":'))?.problem).toMatchObject({ status: 400, detail: 'The body is not valid JSON' });
  });

  it('quotes an inexact number whole up to 40 characters, and cut with an ellipsis beyond', async () => {
    const forty = `0.${'1'.repeat(38)}`;
    expect(forty).toHaveLength(40);
    expect((await parse(`{"a":${forty}}`)).problem?.detail).toBe(
      `The number ${forty} has more digits than this API can store exactly (about 15 significant digits); send it with fewer`,
    );
    const longer = `${forty}2`;
    expect((await parse(`{"a":${longer}}`)).problem?.detail).toBe(
      `The number ${forty}… has more digits than this API can store exactly (about 15 significant digits); send it with fewer`,
    );
  });
});
