import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import AdmZip from 'adm-zip';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_METRICS_NAMESPACE } from '#lib/observability/metricNames';
import { authorizedGatewayEvent } from '../support/apiEvents.ts';
import { type EmfRecord, parseEmf } from '../support/emf.ts';
import { testMongoUri, uniqueDbName } from '../support/mongo.ts';
import { type PackagedService, PRODUCTION_SETTINGS, packageService } from '../support/serverlessPackage.ts';

/**
 * The packaged handlers write the API's metrics: `serverless package` as a deploy would, then the
 * createService and createOrder bundles run in a plain Node process (tests/deploy/invokePackaged.mjs)
 * with the template's environment, and their stdout is read the way CloudWatch Logs reads EMF.
 */
const run = promisify(execFile);

interface LambdaFunction {
  Handler: string;
  Environment: { Variables: Record<string, string> };
  Code: { S3Key: string };
}

let packaged: PackagedService | undefined;
let functions: LambdaFunction[];
const database = uniqueDbName('dryrun_metrics');

beforeAll(async () => {
  // A deployed stage, with the settings a production deploy is given (a stage other than dev
  // refuses to package without them).
  packaged = await packageService('prod', PRODUCTION_SETTINGS);
  if (!packaged.template) throw new Error(`serverless package failed:\n${packaged.output}`);
  functions = Object.values(packaged.template.Resources)
    .filter((resource) => resource.Type === 'AWS::Lambda::Function')
    .map((resource) => resource.Properties as unknown as LambdaFunction);
}, 240_000);

afterAll(async () => {
  await packaged?.cleanup();
});

/**
 * Runs one packaged function over the events in a fresh Node process, as a new on-demand
 * container, and returns its answers and the EMF records it wrote.
 */
async function invokePackaged(
  functionName: string,
  events: APIGatewayProxyEventV2[],
): Promise<{ answers: APIGatewayProxyStructuredResultV2[]; records: EmfRecord[]; namespace: string }> {
  const fn = functions.find((each) => each.Code.S3Key.endsWith(`/${functionName}.zip`));
  if (!fn) throw new Error(`no packaged function ${functionName}`);
  const taskRoot = await mkdtemp(join(tmpdir(), `oms-metrics-task-${functionName}-`));
  try {
    new AdmZip(join(packaged?.packageDir ?? '', `${functionName}.zip`)).extractAllTo(taskRoot, true);
    const eventsPath = join(taskRoot, 'events.json');
    await writeFile(eventsPath, JSON.stringify(events));
    const handlerFile = `${fn.Handler.slice(0, fn.Handler.lastIndexOf('.'))}.mjs`;
    const { stdout } = await run(
      process.execPath,
      [fileURLToPath(new URL('./invokePackaged.mjs', import.meta.url)), join(taskRoot, handlerFile), eventsPath],
      {
        cwd: taskRoot,
        env: {
          PATH: process.env.PATH,
          // The template's environment; the connection string given directly (package.test.ts
          // covers reading it from SSM).
          ...fn.Environment.Variables,
          MONGODB_URI: testMongoUri(),
          MONGODB_DATABASE: database,
          // What the Lambda runtime sets.
          AWS_REGION: 'eu-west-1',
          AWS_LAMBDA_FUNCTION_NAME: functionName,
          AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
          LAMBDA_TASK_ROOT: taskRoot,
          POWERTOOLS_LOG_LEVEL: 'SILENT',
        },
        timeout: 60_000,
      },
    );
    return {
      answers: JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]'),
      records: parseEmf(stdout),
      namespace: fn.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE ?? DEFAULT_METRICS_NAMESPACE,
    };
  } finally {
    await rm(taskRoot, { recursive: true, force: true });
  }
}

describe('the packaged handlers, invoked as API Gateway invokes them, write EMF', () => {
  it('counts a created order as OrderCreated and a conflicting one as OrderWindowConflict, one record each', async () => {
    const service = await invokePackaged('createService', [
      authorizedGatewayEvent({ method: 'POST', route: '/services', body: { id: 'emf-1', name: 'Metered' } }),
    ]);
    expect(service.answers[0]?.statusCode, service.answers[0]?.body).toBe(201);
    const datetime = '2032-02-03T04:05:06.000Z';
    const { answers, records, namespace } = await invokePackaged('createOrder', [
      authorizedGatewayEvent({
        method: 'POST',
        route: '/orders',
        body: { datetime, totalfee: 5, services: [{ id: 'emf-1' }] },
      }),
      authorizedGatewayEvent({
        method: 'POST',
        route: '/orders',
        body: { datetime, totalfee: 6, services: [{ id: 'emf-1' }] },
      }),
    ]);
    expect(answers.map((answer) => answer.statusCode)).toEqual([201, 409]);
    expect(records).toEqual([
      {
        namespace,
        dimensions: [['service', 'function_name']],
        dimensionValues: { service: 'order-management-api', function_name: 'createOrder' },
        values: { ColdStart: 1 },
        units: { ColdStart: 'Count' },
      },
      {
        namespace,
        dimensions: [['service']],
        dimensionValues: { service: 'order-management-api' },
        values: { OrderCreated: 1 },
        units: { OrderCreated: 'Count' },
      },
      {
        namespace,
        dimensions: [['service']],
        dimensionValues: { service: 'order-management-api' },
        values: { OrderWindowConflict: 1 },
        units: { OrderWindowConflict: 'Count' },
      },
    ]);
  });
});
