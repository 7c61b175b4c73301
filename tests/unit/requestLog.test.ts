import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushRequestLines, logger, logRequest, type RequestLogFields, requestLine } from '#lib/http/requestLog';
import { apiGatewayEvent, lambdaContext } from '../support/apiEvents.ts';
import { interceptStdout } from '../support/emf.ts';
import { captureRequestLogs } from '../support/requestLogs.ts';

const fields: RequestLogFields = {
  requestId: 'JQ2wbjXXoAMEVbQ=',
  route: 'GET /orders/{id}',
  method: 'GET',
  path: '/orders/seed-0000042',
  status: 200,
  durationMs: 0.4,
  traceId: '1-6756c3a0-5e6b4c1f2a9d8e7f60514233',
};

/** What Powertools Logger itself writes to stdout for `logger.info('request', line)`. */
function powertoolsLine(line: RequestLogFields): string {
  const stdout = interceptStdout();
  try {
    logger.info('request', line);
    return stdout.text;
  } finally {
    stdout.restore();
  }
}

const level = logger.getLevelName();
beforeEach(() => {
  logger.setLogLevel('INFO');
  // The same instant for both writers: only Date is faked, performance.now keeps running.
  vi.useFakeTimers({ toFake: ['Date'], now: Date.parse('2026-12-02T10:44:17.123Z') });
});
afterEach(() => {
  logger.setLogLevel(level);
  vi.useRealTimers();
  delete process.env._X_AMZN_TRACE_ID;
});

describe('the request line', () => {
  it('is byte for byte what Powertools Logger writes for the same fields', () => {
    expect(`${requestLine(fields)}\n`).toBe(powertoolsLine(fields));
  });

  it("carries Lambda's X-Ray trace id as Powertools does", () => {
    process.env._X_AMZN_TRACE_ID = 'Root=1-6756c3a0-5e6b4c1f2a9d8e7f60514233;Parent=53995c3f42cd8ad8;Sampled=1';
    const line = requestLine(fields);
    expect(JSON.parse(line)).toMatchObject({ xray_trace_id: '1-6756c3a0-5e6b4c1f2a9d8e7f60514233' });
    expect(`${line}\n`).toBe(powertoolsLine(fields));
  });

  it('leaves out empty and missing fields and escapes odd paths as Powertools does', () => {
    const odd: RequestLogFields = {
      ...fields,
      route: '',
      method: undefined,
      path: '/orders/a"b\\c\u2028\u0007é😀',
      status: undefined,
      durationMs: Number.NaN,
      traceId: undefined,
    };
    expect(`${requestLine(odd)}\n`).toBe(powertoolsLine(odd));
    expect(Object.keys(JSON.parse(requestLine(odd)))).toEqual([
      'level',
      'message',
      'timestamp',
      'service',
      'sampling_rate',
      'requestId',
      'path',
      'durationMs',
    ]);
  });
});

/** Resolves once the request lines queued so far have been written (they wait for the answer to leave). */
const afterTheAnswer = () => new Promise((resolve) => setImmediate(resolve));

describe('logRequest', () => {
  it('writes one JSON line to stdout with the request, its answer and its duration', async () => {
    const event = apiGatewayEvent({ method: 'GET', route: '/orders/{id}', pathParameters: { id: 'o-1' } });
    const { lines } = await captureRequestLogs(async () =>
      logRequest(event, lambdaContext(), { statusCode: 404 }, performance.now() - 2.25),
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'INFO',
      message: 'request',
      timestamp: '2026-12-02T10:44:17.123Z',
      service: 'order-management-api',
      requestId: event.requestContext.requestId,
      route: 'GET /orders/{id}',
      method: 'GET',
      path: event.rawPath,
      status: 404,
    });
    expect(lines[0]?.durationMs).toBeGreaterThanOrEqual(2.2);
  });

  it('writes the line once the answer has left, and the lines of one turn in one write', async () => {
    const event = apiGatewayEvent({ method: 'GET', route: '/orders' });
    const write = process.stdout.write;
    const writes: string[] = [];
    process.stdout.write = ((chunk: string) => {
      writes.push(chunk);
      return true;
    }) as typeof process.stdout.write;
    try {
      logRequest(event, lambdaContext(), { statusCode: 200 }, performance.now());
      logRequest(event, lambdaContext(), { statusCode: 201 }, performance.now());
      expect(writes).toEqual([]);
      await afterTheAnswer();
    } finally {
      process.stdout.write = write;
    }
    expect(writes).toHaveLength(1);
    expect(
      writes[0]
        ?.trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { status: number }).status),
    ).toEqual([200, 201]);
  });

  it("writes nothing when the logger's level is above INFO", async () => {
    const event = apiGatewayEvent({ method: 'GET', route: '/orders' });
    const stdout = interceptStdout();
    try {
      for (const quieter of ['WARN', 'SILENT'] as const) {
        logger.setLogLevel(quieter);
        logRequest(event, lambdaContext(), { statusCode: 200 }, performance.now());
      }
      await afterTheAnswer();
    } finally {
      stdout.restore();
    }
    expect(stdout.text).toBe('');
  });

  it('never fails a request that has been answered when stdout fails, at once or later', () => {
    const event = apiGatewayEvent({ method: 'GET', route: '/orders' });
    const write = process.stdout.write;
    const listeners = process.stdout.listeners('error');
    process.stdout.removeAllListeners('error');
    try {
      process.stdout.write = (() => {
        throw new Error('EBADF: stdout closed');
      }) as typeof process.stdout.write;
      expect(() => logRequest(event, lambdaContext(), { statusCode: 200 }, performance.now())).not.toThrow();
      expect(() => flushRequestLines()).not.toThrow();
      // A write that fails later: its callback gets the error, then the stream emits it.
      let written = '';
      process.stdout.write = ((chunk: string, callback: (error: Error) => void) => {
        written += chunk;
        callback(new Error('EPIPE: broken pipe'));
        return false;
      }) as typeof process.stdout.write;
      logRequest(event, lambdaContext(), { statusCode: 200 }, performance.now());
      expect(() => flushRequestLines()).not.toThrow();
      expect(written).toContain('"message":"request"');
      expect(() => process.stdout.emit('error', new Error('EPIPE: broken pipe'))).not.toThrow();
      expect(process.stdout.listenerCount('error')).toBe(0);
    } finally {
      process.stdout.write = write;
      process.stdout.removeAllListeners('error');
      for (const listener of listeners) process.stdout.on('error', listener as (error: Error) => void);
    }
  });

  it('follows a level set after it has written lines at the previous one', async () => {
    const event = apiGatewayEvent({ method: 'GET', route: '/orders' });
    const stdout = interceptStdout();
    try {
      logRequest(event, lambdaContext(), { statusCode: 200 }, performance.now());
      logger.setLogLevel('WARN');
      logRequest(event, lambdaContext(), { statusCode: 201 }, performance.now());
      logger.setLogLevel('DEBUG');
      logRequest(event, lambdaContext(), { statusCode: 202 }, performance.now());
      await afterTheAnswer();
    } finally {
      stdout.restore();
    }
    const statuses = stdout.text
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { status: number }).status);
    expect(statuses).toEqual([200, 202]);
  });

  it('leaves the line to Powertools where the container asks for a shape it does not write (TZ not UTC)', async () => {
    vi.resetModules();
    const timezone = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      const fresh = await import('#lib/http/requestLog');
      fresh.logger.setLogLevel('INFO');
      const stdout = interceptStdout();
      try {
        fresh.logRequest(apiGatewayEvent({ method: 'GET', route: '/orders' }), lambdaContext(), { statusCode: 200 }, 0);
      } finally {
        stdout.restore();
      }
      // Powertools' own timestamp with the zone's offset, not toISOString's Z.
      expect(JSON.parse(stdout.text)).toMatchObject({ message: 'request', timestamp: '2026-12-02T05:44:17.123-05:00' });
    } finally {
      if (timezone === undefined) delete process.env.TZ;
      else process.env.TZ = timezone;
    }
  });
});
