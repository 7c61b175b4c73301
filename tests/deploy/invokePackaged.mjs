// Runs in a plain Node process, as the Lambda runtime would: imports one packaged handler file
// (argv[2]) and invokes it with each event (API Gateway v2, or scheduled) of the JSON file argv[3], one after
// the other, with a Lambda-like context. Prints one JSON line: the results, in order.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [handlerPath, eventsPath, exportName = 'handler'] = process.argv.slice(2);
const events = JSON.parse(readFileSync(eventsPath, 'utf8'));
const module = await import(pathToFileURL(handlerPath).href);
const handler = module[exportName];
const results = [];
for (const event of events) {
  const deadline = Date.now() + Number(process.env.AWS_LAMBDA_FUNCTION_TIMEOUT ?? 10) * 1000;
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:123456789012:function:${process.env.AWS_LAMBDA_FUNCTION_NAME}`,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    // An API Gateway event's request id, or a scheduled event's id (the outbox sweep).
    awsRequestId: event.requestContext?.requestId ?? event.id,
    logGroupName: `/aws/lambda/${process.env.AWS_LAMBDA_FUNCTION_NAME}`,
    logStreamName: 'dry-run',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  results.push(await handler(event, context));
}
process.stdout.write(`${JSON.stringify(results)}\n`);
// The handlers keep their MongoDB client open for the next invocation, as in a warm container.
process.exit(0);
