/**
 * lib/http/middlewareChain.ts runs middy middlewares as @middy/core does: the same middlewares, in
 * the same cases, through both, must be called in the same order and give the same answer or error.
 */
import middy, { type MiddlewareObj, type Request } from '@middy/core';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { middlewareChain } from '#lib/http/middlewareChain';

/** What a middleware step (or the handler) does in a case. */
type Behaviour =
  | 'none'
  | 'pass'
  | 'passLater'
  | 'answer'
  | 'answerLater'
  | 'throw'
  | 'throwLater'
  | 'earlyUndefined'
  | 'earlyThenThrow'
  | 'setResponse';
const BEHAVIOURS: Behaviour[] = [
  'none',
  'pass',
  'passLater',
  'answer',
  'answerLater',
  'throw',
  'throwLater',
  'earlyUndefined',
  'earlyThenThrow',
  'setResponse',
];
type StepName = 'before' | 'after' | 'onError';
type Case = { middlewares: Record<StepName, Behaviour>[]; handler: 'answer' | 'throw' | 'throwLater' };

type Req = Request<string, string>;

function step(name: string, behaviour: Behaviour, log: string[]): ((request: Req) => unknown) | undefined {
  if (behaviour === 'none') return undefined;
  return (request) => {
    log.push(`${name}:${behaviour}:${String(request.response)}:${(request.error as Error | undefined)?.message}`);
    switch (behaviour) {
      case 'pass':
        return undefined;
      case 'passLater':
        return Promise.resolve(undefined);
      case 'answer':
        return `${name} answer`;
      case 'answerLater':
        return Promise.resolve(`${name} answer`);
      case 'throw':
        throw new Error(`${name} failed`);
      case 'throwLater':
        return Promise.reject(new Error(`${name} failed`));
      case 'earlyUndefined':
        request.earlyResponse = undefined;
        return undefined;
      case 'earlyThenThrow':
        request.earlyResponse = `${name} early`;
        throw new Error(`${name} failed`);
      case 'setResponse':
        request.response = `${name} set`;
        return undefined;
    }
  };
}

function middlewaresOf(testCase: Case, log: string[]): MiddlewareObj<string, string>[] {
  return testCase.middlewares.map((steps, i) => {
    const middleware: MiddlewareObj<string, string> = {};
    for (const name of ['before', 'after', 'onError'] as const) {
      const fn = step(`m${i}.${name}`, steps[name], log);
      if (fn) middleware[name] = fn;
    }
    return middleware;
  });
}

function handlerOf(testCase: Case, log: string[]): (event: string) => Promise<string> {
  return async (event) => {
    log.push(`handler:${event}`);
    if (testCase.handler === 'throw') throw new Error('handler failed');
    if (testCase.handler === 'throwLater') return Promise.reject(new Error('handler failed'));
    return 'handler answer';
  };
}

/** What a run gave: its answer, or its error with what the error carries. */
async function outcome(run: () => Promise<unknown>): Promise<unknown> {
  try {
    return { answer: await run() };
  } catch (error) {
    const carried = error as Error & { originalError?: Error };
    return {
      error: carried.message,
      cause: (carried.cause as Error | undefined)?.message,
      originalError: carried.originalError?.message,
    };
  }
}

async function bothRunners(testCase: Case) {
  const context = {} as Context;
  const middyLog: string[] = [];
  const viaMiddy = middy<string, string>({ timeoutEarlyInMillis: 0 })
    .use(middlewaresOf(testCase, middyLog))
    .handler(handlerOf(testCase, middyLog));
  const middyOutcome = await outcome(() => viaMiddy('event', context));
  const chainLog: string[] = [];
  const viaChain = middlewareChain(middlewaresOf(testCase, chainLog), handlerOf(testCase, chainLog));
  const chainOutcome = await outcome(() => viaChain('event', context));
  return { middy: { log: middyLog, outcome: middyOutcome }, chain: { log: chainLog, outcome: chainOutcome } };
}

/** A small deterministic generator (mulberry32), so that a failing case can be replayed. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('the middleware chain', () => {
  it('answers, stops and fails where middy does, calling the same steps in the same order', async () => {
    const random = seeded(22);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const cases: Case[] = [
      // The API's own shapes: all pass; a before answers (idempotent replay); the handler fails
      // and the first middleware's onError answers (problem+json).
      { middlewares: [{ before: 'none', after: 'none', onError: 'setResponse' }], handler: 'throw' },
      {
        middlewares: [
          { before: 'none', after: 'none', onError: 'setResponse' },
          { before: 'pass', after: 'none', onError: 'none' },
          { before: 'answerLater', after: 'passLater', onError: 'passLater' },
        ],
        handler: 'answer',
      },
    ];
    for (let i = 0; i < 400; i++) {
      const count = 1 + Math.floor(random() * 3);
      cases.push({
        middlewares: Array.from({ length: count }, () => {
          const steps = { before: pick(BEHAVIOURS), after: pick(BEHAVIOURS), onError: pick(BEHAVIOURS) };
          // middy refuses a middleware without a step.
          if (Object.values(steps).every((behaviour) => behaviour === 'none')) steps.before = 'pass';
          return steps;
        }),
        handler: pick(['answer', 'throw', 'throwLater'] as const),
      });
    }
    const endings = { stoppedBeforeHandler: 0, failed: 0, answeredAfterHandler: 0 };
    for (const testCase of cases) {
      const runs = await bothRunners(testCase);
      expect(runs.chain, JSON.stringify(testCase)).toEqual(runs.middy);
      if ('error' in (runs.middy.outcome as object)) endings.failed++;
      else if (runs.middy.log.includes('handler:event')) endings.answeredAfterHandler++;
      else endings.stoppedBeforeHandler++;
    }
    // The cases cover each way a chain ends.
    for (const count of Object.values(endings)) expect(count).toBeGreaterThan(20);
  });
});
