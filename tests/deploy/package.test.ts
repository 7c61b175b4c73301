import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import AdmZip from 'adm-zip';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, ScheduledEvent } from 'aws-lambda';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicRoutes, routes } from '#lib/http/routes';
import { METRIC } from '#lib/observability/metricNames';
import { apiGatewayEvent, authorizedGatewayEvent } from '../support/apiEvents.ts';
import { testMongoUri, uniqueDbName } from '../support/mongo.ts';
import {
  type PackagedService,
  PRODUCTION_SETTINGS,
  packageService,
  type TemplateResource,
} from '../support/serverlessPackage.ts';

/**
 * The deploy dry-run: `serverless package --stage prod` exactly as `serverless deploy` would
 * package, with no AWS credentials and the settings a production deploy must be given, then
 * checks on the CloudFormation template and the zips it wrote (including what an operator relies
 * on: access logs, throttling, reserved concurrency, alarms, dashboard, tracing), and each
 * packaged handler run by a plain Node process (no tsx, no serverless-offline) with the
 * environment the template gives the deployed function.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

/** What every function is meant to be deployed as. */
const INTENDED = { runtime: 'nodejs24.x', architectures: ['arm64'], memorySize: 512, timeout: 10 };

/** Imports a bundle may keep: what the Lambda runtime provides, and the driver's optional extras. */
const RUNTIME_PROVIDED = /^@aws-sdk\//;
const OPTIONAL_EXTERNALS = new Set([
  'jose',
  'kerberos',
  '@mongodb-js/zstd',
  'snappy',
  'socks',
  'aws4',
  'mongodb-client-encryption',
  'gcp-metadata',
]);

/** String literals of code that must never ship: the embedded MongoDB and the dev token issuer. */
const DEV_ONLY_SENTINELS = ['Transactions require a txnNumber', 'superseded by a newer transaction', 'dev-issuer.json'];

interface LambdaFunction {
  Handler: string;
  Runtime: string;
  Architectures: string[];
  MemorySize: number;
  Timeout: number;
  Environment: { Variables: Record<string, string> };
  Code: { S3Key: string };
}

const PROD_SETTINGS = PRODUCTION_SETTINGS;

/** The outbox relay's scheduled sweep (functions/events/sweep.ts), the one function no route calls. */
const RELAY_FUNCTION = 'relayOutbox';
/** The bus a prod package creates when EVENT_BUS_NAME is not given. */
const PROD_EVENT_BUS = 'order-management-api-prod';

type Resource = TemplateResource;

let packaged: PackagedService;
let packageDir: string;
let packageOutput: string;
let resources: Record<string, Resource>;

function lambdaFunctions(): [string, LambdaFunction][] {
  return Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')
    .map(([logicalId, resource]) => [logicalId, resource.Properties as unknown as LambdaFunction]);
}

function functionFor(functionName: string): LambdaFunction {
  const found = lambdaFunctions().find(([, fn]) => fn.Code.S3Key.endsWith(`/${functionName}.zip`));
  if (!found) throw new Error(`no packaged function ${functionName}`);
  return found[1];
}

/** The handler file inside a function's zip, e.g. functions/orders/create.mjs. */
function handlerFile(fn: LambdaFunction): string {
  return `${fn.Handler.slice(0, fn.Handler.lastIndexOf('.'))}.mjs`;
}

/**
 * The modules a bundle still imports at run time (static and dynamic imports), as esbuild reads
 * them: a regular expression would also match import-like text inside string literals.
 */
async function importsOf(source: string): Promise<{ path: string; kind: string }[]> {
  const result = await build({
    stdin: { contents: source, loader: 'js', sourcefile: 'handler.mjs' },
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'silent',
    // Resolve nothing: every import the bundle still makes is listed as it is written.
    plugins: [
      {
        name: 'list-imports',
        setup: (builder) => builder.onResolve({ filter: /.*/ }, (args) => ({ path: args.path, external: true })),
      },
    ],
  });
  return Object.values(result.metafile.inputs).flatMap((input) =>
    input.imports.map((entry) => ({ path: entry.path, kind: entry.kind })),
  );
}

function zipOf(functionName: string): AdmZip {
  return new AdmZip(join(packageDir, `${functionName}.zip`));
}

beforeAll(async () => {
  packaged = await packageService('prod', PROD_SETTINGS);
  packageOutput = packaged.output;
  packageDir = packaged.packageDir;
  if (!packaged.template) throw new Error(`serverless package --stage prod failed:\n${packageOutput}`);
  resources = packaged.template.Resources;
}, 240_000);

afterAll(async () => {
  await packaged?.cleanup();
});

describe('serverless package (deploy dry-run)', () => {
  it('packages with no warning and no deprecation', () => {
    expect(packageOutput).toContain('Service packaged');
    expect(packageOutput).not.toMatch(/warn|deprecat/i);
  });

  it('deploys every function on nodejs24.x, arm64, 512 MB and 10 s', () => {
    const functions = lambdaFunctions();
    const expectedNames = new Set(
      [...routes, ...publicRoutes].map((route) => route.functionName).concat('notFound', RELAY_FUNCTION),
    );
    expect(functions).toHaveLength(expectedNames.size);
    for (const [logicalId, fn] of functions) {
      expect(
        {
          runtime: fn.Runtime,
          architectures: fn.Architectures,
          memorySize: fn.MemorySize,
          timeout: fn.Timeout,
        },
        logicalId,
      ).toEqual(INTENDED);
    }
  });

  it('puts exactly its own handler file, and nothing else, into each function zip', () => {
    for (const [logicalId, fn] of lambdaFunctions()) {
      const functionName = fn.Code.S3Key.slice(fn.Code.S3Key.lastIndexOf('/') + 1, -'.zip'.length);
      const entries = zipOf(functionName)
        .getEntries()
        .filter((entry) => !entry.isDirectory)
        .map((entry) => entry.entryName);
      expect(entries, logicalId).toEqual([handlerFile(fn)]);
    }
  });

  it('bundles no dev dependency and no dev/ code: every import left is Node, the runtime SDK or an optional extra', async () => {
    const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
    for (const [logicalId, fn] of lambdaFunctions()) {
      const functionName = fn.Code.S3Key.slice(fn.Code.S3Key.lastIndexOf('/') + 1, -'.zip'.length);
      const source = zipOf(functionName).readAsText(handlerFile(fn));
      for (const { path: specifier } of await importsOf(source)) {
        const packageName = specifier
          .split('/')
          .slice(0, specifier.startsWith('@') ? 2 : 1)
          .join('/');
        const allowed =
          builtins.has(specifier) || RUNTIME_PROVIDED.test(specifier) || OPTIONAL_EXTERNALS.has(packageName);
        expect(allowed, `${logicalId} imports '${specifier}'`).toBe(true);
      }
      for (const sentinel of DEV_ONLY_SENTINELS) expect(source, `${logicalId} holds dev code`).not.toContain(sentinel);
    }
  });

  it('imports node:http in no function as an ES module (its namespace costs 50-90 ms of cold start on Node 24)', async () => {
    for (const [logicalId, fn] of lambdaFunctions()) {
      const functionName = fn.Code.S3Key.slice(fn.Code.S3Key.lastIndexOf('/') + 1, -'.zip'.length);
      const source = zipOf(functionName).readAsText(handlerFile(fn));
      const esmImports = (await importsOf(source)).filter((entry) => entry.kind !== 'require-call');
      expect(
        esmImports.filter((entry) => entry.path === 'node:http' || entry.path === 'http'),
        logicalId,
      ).toEqual([]);
    }
  });

  it('bundles TypeBox in no function: schemas become validators and documents at build time, not at cold start', () => {
    // TypeBox tags every schema it builds with this registered symbol.
    const building = lambdaFunctions()
      .filter(([, fn]) => {
        const functionName = fn.Code.S3Key.slice(fn.Code.S3Key.lastIndexOf('/') + 1, -'.zip'.length);
        return zipOf(functionName).readAsText(handlerFile(fn)).includes('TypeBox.Kind');
      })
      .map(([logicalId]) => logicalId);
    expect(building).toEqual([]);
  });

  it('routes the HTTP API exactly as the route table says, each with the JWT authorizer and its scope', () => {
    const declared = Object.values(resources)
      .filter((resource) => resource.Type === 'AWS::ApiGatewayV2::Route')
      .map((resource) => ({
        routeKey: resource.Properties.RouteKey,
        authorizationType: resource.Properties.AuthorizationType ?? 'NONE',
        scopes: resource.Properties.AuthorizationScopes ?? [],
      }));
    const expected = [
      ...routes.map((route) => ({
        routeKey: `${route.method} ${route.path}`,
        authorizationType: 'JWT',
        scopes: [route.scope],
      })),
      ...publicRoutes.map((route) => ({
        routeKey: `${route.method} ${route.path}`,
        authorizationType: 'NONE',
        scopes: [],
      })),
      { routeKey: '$default', authorizationType: 'NONE', scopes: [] },
    ];
    const byKey = (a: { routeKey: unknown }, b: { routeKey: unknown }) =>
      String(a.routeKey).localeCompare(String(b.routeKey));
    expect(declared.sort(byKey)).toEqual(expected.sort(byKey));
    const authorizers = Object.values(resources).filter(
      (resource) => resource.Type === 'AWS::ApiGatewayV2::Authorizer',
    );
    expect(authorizers).toHaveLength(1);
    expect(authorizers[0]?.Properties).toMatchObject({
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
    });
  });

  it('turns on active tracing for every function (the X-Ray endpoint the OpenTelemetry spans go to)', () => {
    for (const [logicalId, fn] of lambdaFunctions()) {
      expect((fn as { TracingConfig?: unknown }).TracingConfig, logicalId).toEqual({ Mode: 'Active' });
    }
  });

  it('gives each function a role with only what its code calls: the SSM read (and KMS through SSM) where it imports the SSM client, PutEvents on the stack’s bus where it imports EventBridge’s; logs and trace uploads for all', async () => {
    type Statement = { Effect: string; Action: string[] | string; Resource: unknown; Condition?: unknown };
    const statementsOf = (roleId: string): Statement[] =>
      (
        (resources[roleId] as Resource).Properties as unknown as {
          Policies: { PolicyDocument: { Statement: Statement[] } }[];
        }
      ).Policies.flatMap((policy) => policy.PolicyDocument.Statement);
    const rolesUsed = new Set<string>();
    for (const [logicalId, fn] of lambdaFunctions()) {
      const roleId = ((fn as unknown as { Role: { 'Fn::GetAtt': [string, string] } }).Role['Fn::GetAtt'] ?? [])[0];
      rolesUsed.add(roleId);
      const functionName = fn.Code.S3Key.slice(fn.Code.S3Key.lastIndexOf('/') + 1, -'.zip'.length);
      const imported = new Set((await importsOf(zipOf(functionName).readAsText(handlerFile(fn)))).map((i) => i.path));
      const statements = statementsOf(roleId);
      const nonLog = statements.filter((statement) => ![statement.Action].flat().every((a) => a.startsWith('logs:')));
      const expected = [
        ...(imported.has('@aws-sdk/client-ssm') ? [['ssm:GetParameter'], ['kms:Decrypt']] : []),
        ...(imported.has('@aws-sdk/client-eventbridge') ? [['events:PutEvents']] : []),
        // What provider.tracing.lambda adds: Lambda's X-Ray endpoint uploads with the function's role.
        ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
      ];
      const sorted = (actions: string[][]) => actions.map((a) => a.join(',')).sort();
      expect(sorted(nonLog.map((statement) => [statement.Action].flat())), logicalId).toEqual(sorted(expected));
      // Its own log group's writes, and no other logs action.
      const logActions = statements
        .flatMap((statement) => [statement.Action].flat())
        .filter((a) => a.startsWith('logs:'));
      expect(logActions.sort(), logicalId).toEqual([
        'logs:CreateLogGroup',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'logs:TagResource',
      ]);
      for (const statement of statements) {
        expect(statement.Effect, logicalId).toBe('Allow');
        const actions = [statement.Action].flat();
        if (actions[0]?.startsWith('logs:')) {
          expect(JSON.stringify(statement.Resource), logicalId).toContain(
            ':log-group:/aws/lambda/order-management-api-prod',
          );
        }
        if (actions.includes('ssm:GetParameter')) {
          expect(JSON.stringify(statement.Resource), logicalId).toContain(
            ':parameter/order-management-api/prod/mongodb-uri"',
          );
        }
        if (actions.includes('kms:Decrypt'))
          expect(JSON.stringify(statement.Condition), logicalId).toContain('kms:ViaService');
        if (actions.includes('events:PutEvents'))
          expect(statement.Resource, logicalId).toEqual({ 'Fn::GetAtt': ['EventBus', 'Arn'] });
      }
    }
    // Three kinds: readers (osls's role), writers and the sweep, and the functions with no database.
    expect([...rolesUsed].sort()).toEqual(['EventPublisherRole', 'IamRoleLambdaExecution', 'NoDatabaseRole']);
    expect(
      resourcesOfType('AWS::IAM::Role')
        .map(([id]) => id)
        .sort(),
    ).toEqual([...rolesUsed].sort());
  });
});

/** The resources of one CloudFormation type, by logical id. */
function resourcesOfType(type: string): [string, Resource][] {
  return Object.entries(resources).filter(([, resource]) => resource.Type === type);
}

/** The one resource of a type the template must hold exactly once. */
function onlyResource(type: string): Resource {
  const found = resourcesOfType(type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return (found[0] as [string, Resource])[1];
}

/** Every function that has no token and no database: the docs and the catch-all 404. */
const PUBLIC_FUNCTIONS = new Set([...publicRoutes.map((route) => route.functionName), 'notFound']);

/** The API's own metric names and Powertools' cold-start metric: all a namespace of ours may hold. */
const OWN_METRIC_NAMES = new Set<string>([...Object.values(METRIC), 'ColdStart']);

interface AlarmProperties {
  AlarmActions?: unknown[];
  Namespace?: string;
  MetricName?: string;
  Dimensions?: { Name: string; Value: unknown }[];
  Metrics?: { MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions?: unknown[] } } }[];
}

/** [namespace, metric name, the dimension list] of every metric an alarm reads. */
function alarmMetrics(alarm: AlarmProperties): { namespace: string; name: string; dimensions: unknown }[] {
  if (alarm.MetricName !== undefined) {
    return [{ namespace: String(alarm.Namespace), name: alarm.MetricName, dimensions: alarm.Dimensions }];
  }
  return (alarm.Metrics ?? []).flatMap((query) =>
    query.MetricStat
      ? [
          {
            namespace: query.MetricStat.Metric.Namespace,
            name: query.MetricStat.Metric.MetricName,
            dimensions: query.MetricStat.Metric.Dimensions,
          },
        ]
      : [],
  );
}

interface DashboardWidget {
  type: string;
  properties: { title?: string; metrics?: unknown[][]; alarms?: string[]; query?: string };
}

/** The dashboard's widgets, its body parsed (Fn::Sub references left as `${…}` text). */
function dashboardWidgets(): DashboardWidget[] {
  const dashboard = onlyResource('AWS::CloudWatch::Dashboard');
  const body = (dashboard.Properties.DashboardBody as { 'Fn::Sub': string })['Fn::Sub'];
  return (JSON.parse(body) as { widgets: DashboardWidget[] }).widgets;
}

/** Every metric line of the dashboard as [namespace, name, ...dimension pairs]. */
function dashboardMetricLines(): string[][] {
  return dashboardWidgets().flatMap((widget) =>
    (widget.properties.metrics ?? []).map((line) => line.filter((part) => typeof part === 'string') as string[]),
  );
}

function metricsNamespace(): string {
  const namespaces = new Set(lambdaFunctions().map(([, fn]) => fn.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE));
  expect(namespaces.size).toBe(1);
  return [...namespaces][0] as string;
}

describe('serverless package --stage prod: what an operator relies on', () => {
  it('writes JSON access logs with the join key and the refusals no function sees, into a log group with retention', () => {
    const stage = onlyResource('AWS::ApiGatewayV2::Stage');
    const settings = stage.Properties.AccessLogSettings as { DestinationArn: unknown; Format: string };
    const format = JSON.parse(settings.Format) as Record<string, string>;
    expect(format).toMatchObject({
      // The function's request log line carries the same `requestId` (lib/http/correlation.ts).
      requestId: '$context.requestId',
      lambdaRequestId: '$context.integration.requestId',
      routeKey: '$context.routeKey',
      status: '$context.status',
      responseLatencyMs: '$context.responseLatency',
      integrationLatencyMs: '$context.integrationLatency',
      integrationError: '$context.integrationErrorMessage',
      authorizerError: '$context.authorizer.error',
      errorMessage: '$context.error.message',
    });
    const logGroupId = (settings.DestinationArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const logGroup = resources[logGroupId];
    expect(logGroup?.Type).toBe('AWS::Logs::LogGroup');
    expect(logGroup?.Properties.RetentionInDays).toBeGreaterThan(0);
    expect(logGroup?.Properties.LogGroupName).toBe('/aws/http-api/order-management-api-prod');
  });

  it('throttles the stage (rate and burst) and writes per-route metrics', () => {
    const stage = onlyResource('AWS::ApiGatewayV2::Stage');
    const routeSettings = stage.Properties.DefaultRouteSettings as Record<string, unknown>;
    expect(routeSettings.ThrottlingRateLimit).toBeGreaterThan(0);
    expect(routeSettings.ThrottlingBurstLimit).toBeGreaterThanOrEqual(Number(routeSettings.ThrottlingRateLimit));
    expect(routeSettings.DetailedMetricsEnabled).toBe(true);
  });

  it('reserves concurrency for every function, the public ones lower than the API functions', () => {
    const reserved = new Map<string, number>();
    for (const [logicalId, fn] of lambdaFunctions()) {
      const value = (fn as unknown as { ReservedConcurrentExecutions?: number }).ReservedConcurrentExecutions;
      expect(value, logicalId).toBeGreaterThan(0);
      reserved.set(fn.Code.S3Key.slice(fn.Code.S3Key.lastIndexOf('/') + 1, -'.zip'.length), value as number);
    }
    const publicLimits = [...reserved].filter(([name]) => PUBLIC_FUNCTIONS.has(name)).map(([, value]) => value);
    const apiLimits = [...reserved]
      .filter(([name]) => !PUBLIC_FUNCTIONS.has(name) && name !== RELAY_FUNCTION)
      .map(([, value]) => value);
    // One sweep at a time: a second would only race the first for the same events.
    expect(reserved.get(RELAY_FUNCTION)).toBe(1);
    expect(publicLimits).toHaveLength(PUBLIC_FUNCTIONS.size);
    expect(Math.max(...publicLimits)).toBeLessThan(Math.min(...apiLimits));
  });

  it('allows exactly the CORS_ORIGINS given and no localhost anywhere in the template', () => {
    const api = onlyResource('AWS::ApiGatewayV2::Api');
    expect((api.Properties.CorsConfiguration as { AllowOrigins: string[] }).AllowOrigins).toEqual([
      'https://app.example.com',
      'https://admin.example.com',
    ]);
    expect(JSON.stringify(packaged.template)).not.toMatch(/localhost|127\.0\.0\.1/);
  });

  it('builds every ARN with the partition: no literal arn:aws: anywhere in the template', () => {
    expect(JSON.stringify(packaged.template)).not.toContain('arn:aws:');
  });

  it('gives the authorizer and the functions the issuer and audience of the environment', () => {
    const authorizer = onlyResource('AWS::ApiGatewayV2::Authorizer');
    expect(authorizer.Properties.JwtConfiguration).toEqual({
      Issuer: PROD_SETTINGS.JWT_ISSUER,
      Audience: [PROD_SETTINGS.JWT_AUDIENCE],
    });
    for (const [logicalId, fn] of lambdaFunctions()) {
      expect(fn.Environment.Variables, logicalId).toMatchObject({
        JWT_ISSUER: PROD_SETTINGS.JWT_ISSUER,
        JWT_AUDIENCE: PROD_SETTINGS.JWT_AUDIENCE,
      });
      expect(fn.Environment.Variables.NODE_OPTIONS, logicalId).toBeUndefined();
    }
  });

  it('keeps the deployment bucket private (all four public-access blocks) and versioned', () => {
    const bucket = resources.ServerlessDeploymentBucket?.Properties;
    expect(bucket?.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket?.VersioningConfiguration).toEqual({ Status: 'Enabled' });
  });

  it('sends every alarm to the SNS topic, which emails ALARM_EMAIL', () => {
    const alarms = resourcesOfType('AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThan(0);
    const [[topicId] = []] = resourcesOfType('AWS::SNS::Topic');
    expect(topicId).toBeDefined();
    for (const [logicalId, alarm] of alarms) {
      expect((alarm.Properties as AlarmProperties).AlarmActions, logicalId).toEqual([{ Ref: topicId }]);
    }
    const subscriptions = resourcesOfType('AWS::SNS::Subscription').map(([, resource]) => resource.Properties);
    expect(subscriptions).toEqual([
      { TopicArn: { Ref: topicId }, Protocol: 'email', Endpoint: PROD_SETTINGS.ALARM_EMAIL },
    ]);
  });

  it('alarms on the API 5xx rate, the API failures that matter, and each function errors, throttles and p99 duration', () => {
    const alarms = resourcesOfType('AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties as AlarmProperties);
    const read = alarms.flatMap(alarmMetrics);
    const namespace = metricsNamespace();
    expect(read).toContainEqual(expect.objectContaining({ namespace: 'AWS/ApiGateway', name: '5xx' }));
    expect(read).toContainEqual(expect.objectContaining({ namespace: 'AWS/ApiGateway', name: 'Count' }));
    for (const name of [
      METRIC.writeContention,
      METRIC.databaseUnavailable,
      METRIC.deadlineExceeded,
      METRIC.unexpectedError,
    ]) {
      expect(read).toContainEqual({
        namespace,
        name,
        dimensions: [{ Name: 'service', Value: 'order-management-api' }],
      });
    }
    for (const [logicalId] of lambdaFunctions()) {
      for (const name of ['Errors', 'Throttles', 'Duration']) {
        expect(read, `${logicalId} ${name}`).toContainEqual({
          namespace: 'AWS/Lambda',
          name,
          dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId } }],
        });
      }
    }
  });

  it('reads only metric names of lib/observability/metricNames.ts from the API namespace, in alarms and dashboard alike', () => {
    const namespace = metricsNamespace();
    const alarmNames = resourcesOfType('AWS::CloudWatch::Alarm')
      .flatMap(([, alarm]) => alarmMetrics(alarm.Properties as AlarmProperties))
      .filter((metric) => metric.namespace === namespace)
      .map((metric) => metric.name);
    const dashboardNames = dashboardMetricLines()
      .filter(([lineNamespace]) => lineNamespace === namespace)
      .map(([, name]) => name);
    expect(alarmNames.length).toBeGreaterThan(0);
    expect(dashboardNames.length).toBeGreaterThan(0);
    for (const name of [...alarmNames, ...dashboardNames]) expect(OWN_METRIC_NAMES, name).toContain(name);
    // Nothing reads a namespace of ours that the functions do not write to.
    const namespaces = new Set(dashboardMetricLines().map(([lineNamespace]) => lineNamespace));
    expect([...namespaces].sort()).toEqual(['AWS/ApiGateway', 'AWS/Lambda', namespace].sort());
  });

  it('has a dashboard: requests, 4xx/5xx, latency p50/p99 per route, conflicts, contention, cold starts, concurrency against the reserved limits, every alarm', () => {
    const widgets = dashboardWidgets();
    const lines = dashboardMetricLines();
    const namespace = metricsNamespace();
    for (const name of ['Count', '4xx', '5xx'])
      expect(
        lines.some((line) => line[1] === name),
        name,
      ).toBe(true);
    const routeKeys = Object.values(resources)
      .filter((resource) => resource.Type === 'AWS::ApiGatewayV2::Route')
      .map((resource) => String(resource.Properties.RouteKey));
    for (const stat of ['p50', 'p99']) {
      const widget = widgets.find((candidate) => candidate.properties.title?.includes(`${stat} per route`));
      const routesShown = (widget?.properties.metrics ?? []).map((line) => line[line.indexOf('Route') + 1]);
      expect(routesShown.sort(), stat).toEqual([...routeKeys].sort());
    }
    for (const name of [METRIC.orderWindowConflict, METRIC.writeContention, 'ColdStart']) {
      expect(
        lines.some((line) => line[0] === namespace && line[1] === name),
        name,
      ).toBe(true);
    }
    const concurrency = widgets.find((widget) =>
      (widget.properties.metrics ?? []).some((line) => line[1] === 'ConcurrentExecutions'),
    ) as DashboardWidget & { properties: { annotations?: { horizontal: { value: number }[] } } };
    expect(concurrency.properties.metrics).toHaveLength(lambdaFunctions().length);
    const limits = new Set(
      lambdaFunctions().map(
        ([, fn]) => (fn as unknown as { ReservedConcurrentExecutions: number }).ReservedConcurrentExecutions,
      ),
    );
    expect(new Set(concurrency.properties.annotations?.horizontal.map((line) => line.value))).toEqual(limits);
    const alarmWidget = widgets.find((widget) => widget.type === 'alarm');
    expect(alarmWidget?.properties.alarms?.length).toBe(resourcesOfType('AWS::CloudWatch::Alarm').length);
  });

  it('creates the event bus the stage setting names and gives its name to every function', () => {
    const bus = onlyResource('AWS::Events::EventBus');
    expect(bus.Properties).toEqual({ Name: PROD_EVENT_BUS });
    expect(resources.EventBus).toBe(bus);
    for (const [logicalId, fn] of lambdaFunctions()) {
      expect(fn.Environment.Variables.EVENT_BUS_NAME, logicalId).toBe(PROD_EVENT_BUS);
    }
    expect(packaged.template?.Outputs).toMatchObject({
      EventBusName: { Value: { Ref: 'EventBus' } },
      EventBusArn: { Value: { 'Fn::GetAtt': ['EventBus', 'Arn'] } },
    });
  });

  it('runs the outbox sweep every minute', () => {
    const rules = resourcesOfType('AWS::Events::Rule').map(([, rule]) => rule.Properties);
    expect(rules).toHaveLength(1);
    const [rule] = rules as { ScheduleExpression: string; State: string; Targets: { Arn: unknown }[] }[];
    expect(rule?.ScheduleExpression).toBe('rate(1 minute)');
    expect(rule?.State).toBe('ENABLED');
    const sweep = lambdaFunctions().find(([, fn]) => fn.Code.S3Key.endsWith(`/${RELAY_FUNCTION}.zip`));
    expect(rule?.Targets.map((target) => target.Arn)).toEqual([{ 'Fn::GetAtt': [sweep?.[0], 'Arn'] }]);
    expect(sweep?.[1].Handler).toBe('functions/events/sweep.handler');
  });

  it('alarms when the oldest undelivered event is too old, or the sweep stops reporting it, and charts the relay', () => {
    const namespace = metricsNamespace();
    const alarm = resources.OutboxOldestEventAgeAlarm?.Properties as AlarmProperties & Record<string, unknown>;
    expect(alarm).toMatchObject({
      Namespace: namespace,
      MetricName: METRIC.outboxOldestEventAge,
      Statistic: 'Maximum',
      Threshold: 600,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'breaching',
    });
    expect(String(alarm.AlarmDescription)).toMatch(/Runbook: docs\/events\.md/);
    const lines = dashboardMetricLines();
    for (const name of [METRIC.eventsSwept, METRIC.eventRelayFailures, METRIC.outboxOldestEventAge]) {
      expect(
        lines.some((line) => line[0] === namespace && line[1] === name),
        name,
      ).toBe(true);
    }
  });

  it("writes the dashboard body in CloudWatch's documented shape (CloudFormation checks none of it)", () => {
    const widgets = dashboardWidgets() as (DashboardWidget & { width: number; height: number })[];
    expect(widgets.length).toBeLessThanOrEqual(500);
    for (const widget of widgets) {
      const where = `${widget.type} ${widget.properties.title ?? ''}`;
      expect(['metric', 'alarm', 'log', 'text'], where).toContain(widget.type);
      expect(widget.width, where).toBeGreaterThanOrEqual(1);
      expect(widget.width, where).toBeLessThanOrEqual(24);
      if (widget.type === 'alarm') expect(widget.properties.alarms?.length, where).toBeLessThanOrEqual(100);
      if (widget.type === 'log') expect(widget.properties.query, where).toMatch(/^SOURCE '\$\{HttpApiLogGroup\}' \| /);
      for (const line of widget.properties.metrics ?? []) {
        // [namespace, metric name, (dimension name, value)*, { stat, label }]
        const names = line.slice(0, -1);
        expect(names.every((part) => typeof part === 'string') && names.length % 2 === 0, `${where}: ${line}`).toBe(
          true,
        );
        expect(line.at(-1), `${where}: ${line}`).toMatchObject({ stat: expect.stringMatching(/^(Sum|Maximum|p\d+)$/) });
      }
    }
  });
});

describe('each packaged handler in a plain Node process, as deployed', () => {
  let ssm: Server;
  let ssmEndpoint: string;
  const ssmRequests: { target: string; body: { Name?: string; WithDecryption?: boolean } }[] = [];
  const putEntries: { EventBusName: string; Source: string; DetailType: string; Detail: string }[] = [];
  const database = uniqueDbName('dryrun');

  // Stands in for SSM Parameter Store (AWS JSON 1.1 protocol) so the deployed configuration,
  // which has no MONGODB_URI, reads the connection string the way it does on AWS; and for
  // EventBridge's PutEvents (the same protocol), which accepts every entry.
  beforeAll(async () => {
    ssm = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      request.on('end', () => {
        const body = JSON.parse(text || '{}');
        const target = String(request.headers['x-amz-target']);
        response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        if (target === 'AWSEvents.PutEvents') {
          putEntries.push(...body.Entries);
          const results = body.Entries.map((_: unknown, index: number) => ({
            EventId: `dry-${putEntries.length}-${index}`,
          }));
          response.end(JSON.stringify({ FailedEntryCount: 0, Entries: results }));
          return;
        }
        ssmRequests.push({ target, body });
        response.end(
          JSON.stringify({ Parameter: { Name: body.Name, Type: 'SecureString', Value: testMongoUri(), Version: 1 } }),
        );
      });
    });
    await new Promise<void>((resolve) => ssm.listen(0, '127.0.0.1', resolve));
    const address = ssm.address();
    if (address === null || typeof address === 'string') throw new Error('no SSM stand-in address');
    ssmEndpoint = `http://127.0.0.1:${address.port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => ssm?.close(resolve));
  });

  /** An event as EventBridge Scheduler's rule sends the sweep. */
  function scheduledEvent(): ScheduledEvent {
    return {
      version: '0',
      id: 'b5d3f1a2-0000-4000-8000-000000000001',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '123456789012',
      time: new Date().toISOString(),
      region: 'eu-west-1',
      resources: [],
      detail: {},
    };
  }

  /** Runs one packaged function's handler over the events, in a fresh Node process. */
  async function invokePackaged(
    functionName: string,
    events: (APIGatewayProxyEventV2 | ScheduledEvent)[],
    extraEnv: Record<string, string> = {},
  ): Promise<(APIGatewayProxyStructuredResultV2 & { statusCode: number })[]> {
    const fn = functionFor(functionName);
    // The runtime ships AWS SDK v3 outside the zip (/var/runtime/node_modules), where the
    // bundle's import of @aws-sdk/client-ssm finds it; here a node_modules beside the task
    // folder holds a link to this project's copy. NODE_PATH would not do: ES modules ignore it.
    const sandbox = await mkdtemp(join(tmpdir(), `oms-task-${functionName}-`));
    const taskRoot = join(sandbox, 'task');
    await mkdir(join(sandbox, 'node_modules'), { recursive: true });
    await symlink(`${root}node_modules/@aws-sdk`, join(sandbox, 'node_modules', '@aws-sdk'), 'dir');
    try {
      zipOf(functionName).extractAllTo(taskRoot, true);
      const eventsPath = join(taskRoot, 'events.json');
      await writeFile(eventsPath, JSON.stringify(events));
      const { stdout } = await run(
        process.execPath,
        [fileURLToPath(new URL('./invokePackaged.mjs', import.meta.url)), join(taskRoot, handlerFile(fn)), eventsPath],
        {
          cwd: taskRoot,
          env: {
            PATH: process.env.PATH,
            // The template's environment, as the deployed function gets it, in its own database here.
            ...fn.Environment.Variables,
            MONGODB_DATABASE: database,
            // What the Lambda runtime sets.
            AWS_REGION: 'eu-west-1',
            AWS_LAMBDA_FUNCTION_NAME: functionName,
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.MemorySize),
            AWS_LAMBDA_FUNCTION_TIMEOUT: String(fn.Timeout),
            AWS_ACCESS_KEY_ID: 'AKIDDRYRUN',
            AWS_SECRET_ACCESS_KEY: 'dry-run-secret',
            AWS_SESSION_TOKEN: 'dry-run-token',
            LAMBDA_TASK_ROOT: taskRoot,
            AWS_ENDPOINT_URL_SSM: ssmEndpoint,
            AWS_ENDPOINT_URL_EVENTBRIDGE: ssmEndpoint,
            POWERTOOLS_LOG_LEVEL: 'SILENT',
            ...extraEnv,
          },
          timeout: 60_000,
        },
      );
      return JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]');
    } finally {
      await rm(sandbox, { recursive: true, force: true });
    }
  }

  it('serves the docs: the OpenAPI document and the page, 200 with no token', async () => {
    const [document] = await invokePackaged('openApiDocument', [
      apiGatewayEvent({ method: 'GET', route: '/openapi.json' }),
    ]);
    expect(document?.statusCode).toBe(200);
    expect(JSON.parse(String(document?.body))).toMatchObject({ openapi: expect.stringMatching(/^3\.1/) });
    const [page] = await invokePackaged('apiDocs', [apiGatewayEvent({ method: 'GET', route: '/docs' })]);
    expect(page?.statusCode).toBe(200);
    expect(page?.headers?.['content-type']).toMatch(/^text\/html/);
  });

  it('answers an unknown route 404 problem+json', async () => {
    const [answer] = await invokePackaged('notFound', [apiGatewayEvent({ method: 'GET', route: '/no/such/thing' })]);
    expect(answer?.statusCode).toBe(404);
    expect(answer?.headers?.['content-type']).toBe('application/problem+json');
  });

  it('answers malformed JSON 400 problem+json from the packaged bundle', async () => {
    const [answer] = await invokePackaged('createService', [
      authorizedGatewayEvent({ method: 'POST', route: '/services', body: '{"id": ' }),
    ]);
    expect(answer?.statusCode, answer?.body as string).toBe(400);
    expect(answer?.headers?.['content-type']).toBe('application/problem+json');
    expect(JSON.parse(answer?.body as string)).toMatchObject({ detail: 'The body is not valid JSON' });
  });

  it('creates a service and an order and reads the order back, reading the connection string from SSM', async () => {
    const [service] = await invokePackaged('createService', [
      authorizedGatewayEvent({ method: 'POST', route: '/services', body: { id: 'dry-1', name: 'Inspection' } }),
    ]);
    expect(service?.statusCode, service?.body as string).toBe(201);
    const datetime = '2031-01-02T03:04:05.000Z';
    const [created, refused] = await invokePackaged('createOrder', [
      authorizedGatewayEvent({
        method: 'POST',
        route: '/orders',
        body: { id: 'dry-order', datetime, totalfee: 12.5, services: [{ id: 'dry-1' }] },
      }),
      authorizedGatewayEvent({
        method: 'POST',
        route: '/orders',
        body: { datetime, totalfee: 1, services: [{ id: 'dry-1' }] },
      }),
    ]);
    expect(created?.statusCode, created?.body as string).toBe(201);
    expect(refused?.statusCode).toBe(409);
    const [read] = await invokePackaged('getOrder', [
      authorizedGatewayEvent({ method: 'GET', route: '/orders/{id}', pathParameters: { id: 'dry-order' } }),
    ]);
    expect(read?.statusCode).toBe(200);
    expect(JSON.parse(String(read?.body))).toMatchObject({ id: 'dry-order', datetime, totalfee: 12.5 });
    expect(ssmRequests.length).toBeGreaterThanOrEqual(3);
    for (const request of ssmRequests) {
      expect(request).toEqual({
        target: 'AmazonSSM.GetParameter',
        body: { Name: '/order-management-api/prod/mongodb-uri', WithDecryption: true },
      });
    }
  });
  it('publishes the writes’ events to the stage’s bus: the sweep puts what the fast path left, with the stable id', async () => {
    const [service] = await invokePackaged('createService', [
      authorizedGatewayEvent({ method: 'POST', route: '/services', body: { id: 'dry-events', name: 'Evented' } }),
    ]);
    expect(service?.statusCode, service?.body as string).toBe(201);
    const [swept] = (await invokePackaged(RELAY_FUNCTION, [scheduledEvent()])) as unknown as {
      published: number;
      failures: number;
      oldestAgeSeconds: number;
    }[];
    // Everything the earlier cases wrote is out now (their fast path or this sweep put it).
    expect(swept).toMatchObject({ failures: 0, oldestAgeSeconds: 0 });
    const put = putEntries.filter((entry) => JSON.parse(entry.Detail).resourceId === 'dry-events');
    expect(put.length).toBeGreaterThanOrEqual(1);
    const eventIds = new Set(put.map((entry) => JSON.parse(entry.Detail).eventId));
    expect(eventIds.size).toBe(1);
    expect(put[0]).toMatchObject({
      EventBusName: PROD_EVENT_BUS,
      Source: 'order-management-api',
      DetailType: 'service.created',
    });
    expect(JSON.parse(put[0]?.Detail ?? '')).toMatchObject({
      type: 'service.created',
      version: 1,
      actor: 'dry-run-client',
      service: JSON.parse(String(service?.body)),
    });
    const [again] = (await invokePackaged(RELAY_FUNCTION, [scheduledEvent()])) as unknown as { published: number }[];
    expect(again?.published).toBe(0);
  });

  it('sends the spans of a packaged handler (invocation, SSM read, each MongoDB command) to the X-Ray endpoint', async () => {
    const endpoint = createSocket('udp4');
    await new Promise<void>((resolve) => endpoint.bind(0, '127.0.0.1', resolve));
    const datagrams: string[] = [];
    endpoint.on('message', (message) => datagrams.push(message.toString('utf8')));
    try {
      const [answer] = await invokePackaged(
        'createService',
        [authorizedGatewayEvent({ method: 'POST', route: '/services', body: { id: 'dry-traced', name: 'Traced' } })],
        {
          // What Lambda sets with active tracing: its X-Ray endpoint and this invocation's sampled trace.
          AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${endpoint.address().port}`,
          _X_AMZN_TRACE_ID: 'Root=1-6a4f3c2b-5e0d1c2b3a4f5e6d7c8b9a0f;Parent=53995c3f42cd8ad8;Sampled=1',
        },
      );
      expect(answer?.statusCode, answer?.body as string).toBe(201);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(datagrams).toHaveLength(1);
      const [header, body = ''] = (datagrams[0] ?? '').split('\n');
      expect(JSON.parse(header ?? '')).toEqual({ format: 'json', version: 1 });
      // OTLP protobuf keeps names and ids readable once base64 is undone.
      const payload = Buffer.from(body.replace(/^T1S/, ''), 'base64');
      for (const name of ['POST /services', 'SSM.GetParameter', 'createIndexes orders', 'insert services']) {
        expect(payload.includes(name), name).toBe(true);
      }
      expect(payload.includes(Buffer.from('6a4f3c2b5e0d1c2b3a4f5e6d7c8b9a0f', 'hex'))).toBe(true);
    } finally {
      endpoint.close();
    }
  });
});
