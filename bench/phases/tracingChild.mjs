// One container for the tracing section (bench/phases/tracing.ts):
// `node [--import <ADOT stand-in>] tracingChild.mjs <bundle.mjs> <exportName> <event.json> <warmup> <iterations>`.
// Plain JavaScript, so nothing but Node (and the layer stand-in, when the parent preloads it) runs
// before the bundle. Imports the bundle, invokes its handler once (the cold invocation: connection,
// indexes, tracer set-up, first export), then `iterations` warm invocations after `warmup` untimed
// ones, each with a fresh sampled `_X_AMZN_TRACE_ID` as Lambda's runtime sets it per invocation.
// Prints one JSON line.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [bundle, exportName, eventPath, warmupArg, iterationsArg] = process.argv.slice(2);
const event = JSON.parse(readFileSync(eventPath, 'utf8'));
const warmup = Number(warmupArg);
const iterations = Number(iterationsArg);

function lambdaContext() {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${process.env.AWS_LAMBDA_FUNCTION_NAME}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/bench',
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => 10_000,
    done() {},
    fail() {},
    succeed() {},
  };
}

async function invoke(handler) {
  const seconds = Math.floor(Date.now() / 1000).toString(16);
  process.env._X_AMZN_TRACE_ID = `Root=1-${seconds}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=1`;
  const startedAt = performance.now();
  const result = await handler(
    { ...event, requestContext: { ...event.requestContext, requestId: randomUUID() } },
    lambdaContext(),
  );
  const elapsed = performance.now() - startedAt;
  if (result?.statusCode !== 200) throw new Error(`expected 200, got ${result?.statusCode}: ${result?.body}`);
  return elapsed;
}

const importStartedAt = performance.now();
const module = await import(pathToFileURL(bundle).href);
const readyAt = performance.now();
const handler = module[exportName];
const cpuMs = (usage) => (usage.user + usage.system) / 1000;
let cpuBefore = process.cpuUsage();
const firstMs = await invoke(handler);
const firstCpuMs = cpuMs(process.cpuUsage(cpuBefore));
for (let i = 0; i < warmup; i++) await invoke(handler);
const samples = [];
// CPU per warm invocation: this process's CPU time (the database runs in the parent), which other
// load on the machine barely affects, unlike the wall-clock samples.
cpuBefore = process.cpuUsage();
for (let i = 0; i < iterations; i++) samples.push(await invoke(handler));
const warmCpuMs = cpuMs(process.cpuUsage(cpuBefore));
process.stdout.write(
  `${JSON.stringify({
    importMs: readyAt - importStartedAt,
    readySinceProcessStartMs: readyAt,
    firstInvocationMs: firstMs,
    firstInvocationCpuMs: firstCpuMs,
    warmCpuPerInvocationMs: warmCpuMs / iterations,
    samples,
    rssBytes: process.memoryUsage.rss(),
  })}\n`,
);
// Sockets (MongoDB, UDP) keep the process alive; the parent reads the line, then this ends.
process.exit(0);
