// One simulated Lambda container of the contention benchmark (bench/contention.ts), forked with
// an IPC channel. Plain JavaScript (no tsx) so that, as in Lambda, the process runs nothing but
// the packaged bundles: each bundle is imported once and keeps its own module state (its own
// MongoDB client, created on the first invocation), and the container serves one invocation
// at a time. Messages: { load: { name: path } } -> { loaded }, { seq, bundle, event } ->
// { seq, status, ms, type } where ms is the handler's duration as Lambda would bill it.
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';

const handlers = {};

function context() {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'createOrder',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:createOrder',
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/createOrder',
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => 10_000,
  };
}

process.on('message', async (message) => {
  if (message.load) {
    for (const [name, path] of Object.entries(message.load)) {
      handlers[name] = (await import(pathToFileURL(path).href)).handler;
    }
    process.send({ loaded: true });
    return;
  }
  const started = performance.now();
  let status = 0;
  let type;
  try {
    const result = await handlers[message.bundle](message.event, context());
    status = result.statusCode;
    if (status >= 500) type = JSON.parse(result.body).type;
  } catch (error) {
    type = `threw: ${error instanceof Error ? error.message : String(error)}`;
  }
  process.send({ seq: message.seq, status, ms: performance.now() - started, type });
});
