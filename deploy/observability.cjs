/**
 * What an operator watches, as CloudFormation: the SNS topic every alarm notifies (and an email
 * subscription when the stage sets `alarmEmail`), the alarms, the CloudWatch dashboard, and the
 * HTTP API's access log format. serverless.yml takes each part with
 * `${file(./deploy/observability.cjs):Resources}` and so on.
 *
 * Generated rather than written out in YAML because the per-function alarms and widgets follow
 * `functions:` (14 functions x 3 alarms): a function added to serverless.yml gets its alarms, its
 * dashboard lines and its concurrency limit line without a second list to keep in step. The API's
 * own metric names are those of lib/observability/metricNames.ts (tests/deploy checks every name
 * used here against it). README "Operating it" is the runbook for each alarm.
 *
 * CommonJS because osls loads file functions with require().
 */
'use strict';

/** The HTTP API's resources as osls names them (lib/plugins/aws/lib/naming.js). */
const HTTP_API = 'HttpApi';
const HTTP_API_LOG_GROUP = 'HttpApiLogGroup';
/** osls deploys the HTTP API's one stage as `$default`. */
const HTTP_API_STAGE_NAME = '$default';
/** Powertools Metrics' cold-start metric (dimensions `service` and `function_name`). */
const COLD_START_METRIC = 'ColdStart';

/** Every alarm looks at 5-minute windows and alarms on the first one that breaches. */
const PERIOD_SECONDS = 300;

/**
 * One access log line per request, JSON. `requestId` is the join key: the function's request log
 * line carries the same value as `requestId` (lib/http/correlation.ts). `lambdaRequestId` is the
 * invocation's own id, which Lambda's START/END/REPORT lines and any crash carry. Requests that
 * never reach a function (refused by the JWT authorizer or throttling) are only here, with
 * `authorizerError` or `errorMessage` saying why.
 */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  lambdaRequestId: '$context.integration.requestId',
  requestTime: '$context.requestTime',
  requestTimeEpoch: '$context.requestTimeEpoch',
  ip: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  method: '$context.httpMethod',
  path: '$context.path',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
  errorMessage: '$context.error.message',
  errorResponseType: '$context.error.responseType',
  clientId: '$context.authorizer.claims.sub',
};

/** The API's own metrics each alarm or widget reads (names from lib/observability/metricNames.ts). */
const API_METRIC = {
  writes: [
    'OrderCreated',
    'OrderMoved',
    'OrderUpdated',
    'OrderDeleted',
    'ServiceCreated',
    'ServiceUpdated',
    'ServiceDeleted',
  ],
  refusals: ['OrderWindowConflict', 'IdempotentReplay', 'ValidationFailed'],
  failures: ['WriteContention', 'DatabaseUnavailable', 'DeadlineExceeded', 'UnexpectedError'],
  events: ['EventsSwept', 'EventRelayFailures'],
  outboxAge: 'OutboxOldestEventAge',
};

/** An error osls prints as its message alone (it prints the stack of any other). */
function settingError(message) {
  const error = new Error(message);
  error.stack = message;
  return error;
}

/** A reference Fn::Sub replaces: a resource's name or id, one of its attributes, a pseudo parameter. */
function sub(name) {
  return `\${${name}}`;
}

/** osls's logical id of a function's AWS::Lambda::Function (naming.getLambdaLogicalId). */
function lambdaLogicalId(functionName) {
  const normalized = functionName.replace(/-/g, 'Dash').replace(/_/g, 'Underscore');
  return `${normalized[0].toUpperCase()}${normalized.slice(1)}LambdaFunction`;
}

/** The HTTP API route keys of a function's events, as API Gateway names them in its metrics. */
function routeKeysOf(definition) {
  return (definition.events ?? [])
    .map((event) => event.httpApi)
    .filter((httpApi) => httpApi !== undefined)
    .map((httpApi) => {
      if (typeof httpApi === 'string') return httpApi === '*' ? '$default' : httpApi;
      if (httpApi.method === '*' && httpApi.path === '*') return '$default';
      return `${String(httpApi.method).toUpperCase()} ${httpApi.path}`;
    });
}

/** A non-negative number from a stage setting, or a clear error naming the setting. */
function numberSetting(settings, name) {
  const value = Number(settings[name]);
  if (!Number.isFinite(value) || value < 0) {
    throw settingError(`Stage setting ${name} must be a non-negative number, got "${settings[name]}".`);
  }
  return value;
}

/** A CloudWatch alarm that notifies the topic when it fires and when it recovers. */
function alarm(name, description, threshold, metric) {
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: name,
      AlarmDescription: description,
      ActionsEnabled: true,
      AlarmActions: [{ Ref: 'AlarmTopic' }],
      OKActions: [{ Ref: 'AlarmTopic' }],
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      Threshold: threshold,
      // No traffic is no trouble: a window without data neither fires nor clears an alarm.
      TreatMissingData: 'notBreaching',
      ...metric,
    },
  };
}

/** CloudWatch's form of a metric's dimensions. */
function dimensionList(dimensions) {
  return Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value }));
}

/** The properties of an alarm on one metric's statistic over a 5-minute window. */
function metricOf(namespace, metricName, dimensions, statistic) {
  const stat = /^p\d/.test(statistic) ? { ExtendedStatistic: statistic } : { Statistic: statistic };
  return {
    Namespace: namespace,
    MetricName: metricName,
    Dimensions: dimensionList(dimensions),
    Period: PERIOD_SECONDS,
    ...stat,
  };
}

/** One metric of a metric-math alarm, over a 5-minute window. */
function metricStat(namespace, metricName, dimensions, stat) {
  return {
    Metric: { Namespace: namespace, MetricName: metricName, Dimensions: dimensionList(dimensions) },
    Period: PERIOD_SECONDS,
    Stat: stat,
  };
}

/**
 * Reads the stage settings and the functions from the resolved serverless.yml and returns
 * `{ Resources, Outputs, accessLogFormat }`.
 */
module.exports = async ({ resolveVariable, resolveConfigurationProperty }) => {
  const service = await resolveVariable('self:service');
  const stage = await resolveVariable('sls:stage');
  const functions = (await resolveConfigurationProperty(['functions'])) ?? {};
  const timeoutSeconds = Number(await resolveConfigurationProperty(['provider', 'timeout']));
  const serviceDimension = await resolveConfigurationProperty(['provider', 'environment', 'POWERTOOLS_SERVICE_NAME']);
  const settingNames = [
    'metricsNamespace',
    'alarmEmail',
    'alarmApi5xxRatePercent',
    'alarmApi5xxMinRequests',
    'alarmDurationP99Ms',
    'alarmLambdaErrors',
    'alarmLambdaThrottles',
    'alarmWriteContention',
    'alarmDatabaseUnavailable',
    'alarmDeadlineExceeded',
    'alarmUnexpectedError',
    'alarmOutboxOldestEventAgeSeconds',
  ];
  const settings = {};
  for (const name of settingNames) settings[name] = await resolveVariable(`param:${name}`);
  const namespace = String(settings.metricsNamespace);
  const prefix = `${service}-${stage}`;
  const runbook = (anchor) => `Runbook: README "Operating it", ${anchor}.`;

  const fns = Object.entries(functions).map(([name, definition]) => ({
    name,
    logicalId: lambdaLogicalId(name),
    reservedConcurrency: definition.reservedConcurrency,
    routeKeys: routeKeysOf(definition),
  }));
  const apiDimensions = { ApiId: { Ref: HTTP_API }, Stage: HTTP_API_STAGE_NAME };
  const ownDimensions = { service: serviceDimension };

  const resources = {
    AlarmTopic: {
      Type: 'AWS::SNS::Topic',
      Properties: { DisplayName: `${prefix} alarms` },
    },
  };
  if (settings.alarmEmail) {
    resources.AlarmEmailSubscription = {
      Type: 'AWS::SNS::Subscription',
      Properties: { TopicArn: { Ref: 'AlarmTopic' }, Protocol: 'email', Endpoint: String(settings.alarmEmail) },
    };
  }

  // The API as clients see it: the share of 5xx answers, only once there is enough traffic for a
  // share to mean something.
  const minRequests = numberSetting(settings, 'alarmApi5xxMinRequests');
  resources.Api5xxRateAlarm = alarm(
    `${prefix} API 5xx rate`,
    `${numberSetting(settings, 'alarmApi5xxRatePercent')}% or more of requests answered 5xx in 5 minutes (once there are ${minRequests} requests). ${runbook('API 5xx rate')}`,
    numberSetting(settings, 'alarmApi5xxRatePercent'),
    {
      Metrics: [
        {
          Id: 'errors',
          ReturnData: false,
          MetricStat: metricStat('AWS/ApiGateway', '5xx', apiDimensions, 'Sum'),
        },
        {
          Id: 'requests',
          ReturnData: false,
          MetricStat: metricStat('AWS/ApiGateway', 'Count', apiDimensions, 'Sum'),
        },
        {
          Id: 'rate',
          Label: '5xx share of requests (%)',
          ReturnData: true,
          Expression: `IF(requests >= ${minRequests}, 100 * errors / requests, 0)`,
        },
      ],
    },
  );

  // The API's own refusals and failures, counted by its metrics.
  const ownAlarms = [
    ['WriteContention', 'alarmWriteContention', 'write-contention 503s'],
    ['DatabaseUnavailable', 'alarmDatabaseUnavailable', 'database-unavailable 503s'],
    ['DeadlineExceeded', 'alarmDeadlineExceeded', 'deadline-exceeded 503s'],
    ['UnexpectedError', 'alarmUnexpectedError', 'unexpected 500s'],
  ];
  for (const [metricName, setting, what] of ownAlarms) {
    const threshold = numberSetting(settings, setting);
    resources[`${metricName}Alarm`] = alarm(
      `${prefix} ${metricName}`,
      `${threshold} or more ${what} in 5 minutes. ${runbook(metricName)}`,
      threshold,
      metricOf(namespace, metricName, ownDimensions, 'Sum'),
    );
  }

  // The outbox (docs/events.md): the oldest undelivered event, which the sweep reports every
  // minute. Missing data breaches: no report means no sweep, and then nothing is being delivered.
  const outboxAgeThreshold = numberSetting(settings, 'alarmOutboxOldestEventAgeSeconds');
  resources.OutboxOldestEventAgeAlarm = alarm(
    `${prefix} outbox oldest event age`,
    `An order or service event has waited ${outboxAgeThreshold} s or more to be published to EventBridge, or the sweep stopped reporting. Runbook: docs/events.md, "Alarm: outbox oldest event age".`,
    outboxAgeThreshold,
    metricOf(namespace, API_METRIC.outboxAge, ownDimensions, 'Maximum'),
  );
  resources.OutboxOldestEventAgeAlarm.Properties.TreatMissingData = 'breaching';

  // Each function: errors (crashes, timeouts, init failures: the handlers answer their own
  // errors, so these are what they could not), throttles (reserved concurrency reached) and a p99
  // duration close to the timeout.
  const errorsThreshold = numberSetting(settings, 'alarmLambdaErrors');
  const throttlesThreshold = numberSetting(settings, 'alarmLambdaThrottles');
  const durationThreshold = numberSetting(settings, 'alarmDurationP99Ms');
  if (durationThreshold >= timeoutSeconds * 1000) {
    throw settingError(`alarmDurationP99Ms (${durationThreshold}) must be below the ${timeoutSeconds} s timeout.`);
  }
  for (const fn of fns) {
    const dimensions = { FunctionName: { Ref: fn.logicalId } };
    const alarmId = fn.logicalId.replace(/LambdaFunction$/, '');
    resources[`${alarmId}ErrorsAlarm`] = alarm(
      `${prefix} ${fn.name} Lambda errors`,
      `${errorsThreshold} or more invocation errors of ${fn.name} in 5 minutes. ${runbook('Lambda errors')}`,
      errorsThreshold,
      metricOf('AWS/Lambda', 'Errors', dimensions, 'Sum'),
    );
    resources[`${alarmId}ThrottlesAlarm`] = alarm(
      `${prefix} ${fn.name} Lambda throttles`,
      `${throttlesThreshold} or more throttled invocations of ${fn.name} in 5 minutes (reserved concurrency ${fn.reservedConcurrency}). ${runbook('Lambda throttles')}`,
      throttlesThreshold,
      metricOf('AWS/Lambda', 'Throttles', dimensions, 'Sum'),
    );
    resources[`${alarmId}DurationAlarm`] = alarm(
      `${prefix} ${fn.name} p99 duration`,
      `p99 duration of ${fn.name} at or above ${durationThreshold} ms (timeout ${timeoutSeconds} s) in 5 minutes. ${runbook('p99 duration')}`,
      durationThreshold,
      metricOf('AWS/Lambda', 'Duration', dimensions, 'p99'),
    );
  }
  const alarmIds = Object.keys(resources).filter((id) => resources[id].Type === 'AWS::CloudWatch::Alarm');

  resources.Dashboard = {
    Type: 'AWS::CloudWatch::Dashboard',
    Properties: {
      DashboardName: prefix,
      DashboardBody: {
        'Fn::Sub': JSON.stringify(
          dashboardBody({ fns, namespace, serviceDimension, alarmIds, durationThreshold, timeoutSeconds }),
        ),
      },
    },
  };

  return {
    Resources: resources,
    Outputs: {
      AlarmTopicArn: { Description: 'SNS topic every alarm notifies', Value: { Ref: 'AlarmTopic' } },
      DashboardName: { Description: 'CloudWatch dashboard of the API', Value: { Ref: 'Dashboard' } },
    },
    accessLogFormat: JSON.stringify(ACCESS_LOG_FIELDS),
  };
};

/**
 * The dashboard, top to bottom in the order an on-call engineer asks: is anything alarming, is the
 * API answering, is it slow, what is it refusing, is it near its limits. Values in `${…}` are
 * Fn::Sub references (the API's id, function names, alarm ARNs, the region).
 */
function dashboardBody({ fns, namespace, serviceDimension, alarmIds, durationThreshold, timeoutSeconds }) {
  const region = sub('AWS::Region');
  const api = ['ApiId', sub(HTTP_API), 'Stage', HTTP_API_STAGE_NAME];
  const routeKeys = fns.flatMap((fn) => fn.routeKeys).sort();
  const graph = (title, metrics, extra = {}) => ({
    type: 'metric',
    width: 12,
    height: 6,
    properties: { title, region, view: 'timeSeries', stacked: false, period: 60, metrics, ...extra },
  });
  const own = (name, stat = 'Sum') => [namespace, name, 'service', serviceDimension, { stat, label: name }];
  const lambda = (metric, fn, stat) => [
    'AWS/Lambda',
    metric,
    'FunctionName',
    sub(fn.logicalId),
    { stat, label: fn.name },
  ];
  const limits = [...new Set(fns.map((fn) => fn.reservedConcurrency).filter((value) => value !== undefined))];

  const widgets = [
    {
      type: 'alarm',
      width: 24,
      height: 4,
      properties: { title: 'Alarms', alarms: alarmIds.map((id) => sub(`${id}.Arn`)), sortBy: 'stateUpdatedTimestamp' },
    },
    graph('Requests, 4xx and 5xx (per minute)', [
      ['AWS/ApiGateway', 'Count', ...api, { stat: 'Sum', label: 'requests' }],
      ['AWS/ApiGateway', '4xx', ...api, { stat: 'Sum', label: '4xx' }],
      ['AWS/ApiGateway', '5xx', ...api, { stat: 'Sum', label: '5xx' }],
    ]),
    graph('API latency, all routes (ms)', [
      ['AWS/ApiGateway', 'Latency', ...api, { stat: 'p50', label: 'p50' }],
      ['AWS/ApiGateway', 'Latency', ...api, { stat: 'p99', label: 'p99' }],
      ['AWS/ApiGateway', 'IntegrationLatency', ...api, { stat: 'p99', label: 'integration p99' }],
    ]),
    graph(
      'Latency p50 per route (ms)',
      routeKeys.map((route) => ['AWS/ApiGateway', 'Latency', ...api, 'Route', route, { stat: 'p50', label: route }]),
    ),
    graph(
      'Latency p99 per route (ms)',
      routeKeys.map((route) => ['AWS/ApiGateway', 'Latency', ...api, 'Route', route, { stat: 'p99', label: route }]),
    ),
    graph(
      'Writes',
      API_METRIC.writes.map((name) => own(name)),
    ),
    graph(
      'Refusals: window conflicts (409), replays, validation (400)',
      API_METRIC.refusals.map((name) => own(name)),
    ),
    graph(
      'Failures: contention, database, deadline (503) and unexpected (500)',
      API_METRIC.failures.map((name) => own(name)),
    ),
    graph(
      'Events: published by the sweep (missed by the fast path) and relay failures',
      API_METRIC.events.map((name) => own(name)),
    ),
    graph('Outbox: oldest undelivered event age (s)', [own(API_METRIC.outboxAge, 'Maximum')]),
    graph(
      'Cold starts per function',
      fns.map((fn) => [
        namespace,
        COLD_START_METRIC,
        'service',
        serviceDimension,
        'function_name',
        sub(fn.logicalId),
        { stat: 'Sum', label: fn.name },
      ]),
    ),
    graph(
      'Concurrency per function against its reserved limit',
      fns.map((fn) => lambda('ConcurrentExecutions', fn, 'Maximum')),
      { annotations: { horizontal: limits.map((value) => ({ label: `reserved ${value}`, value })) } },
    ),
    graph('Lambda errors and throttles per function', [
      ...fns.map((fn) => lambda('Errors', fn, 'Sum')),
      ...fns.map((fn) => [
        ...lambda('Throttles', fn, 'Sum').slice(0, -1),
        { stat: 'Sum', label: `${fn.name} throttles` },
      ]),
    ]),
    graph(
      'Duration p99 per function (ms)',
      fns.map((fn) => lambda('Duration', fn, 'p99')),
      {
        annotations: {
          horizontal: [
            { label: 'alarm', value: durationThreshold },
            { label: 'timeout', value: timeoutSeconds * 1000 },
          ],
        },
      },
    ),
    {
      type: 'log',
      width: 24,
      height: 6,
      properties: {
        title: 'Access log: latest 5xx and refusals before the function (authorizer, throttling)',
        region,
        view: 'table',
        query: `SOURCE '${sub(HTTP_API_LOG_GROUP)}' | fields @timestamp, requestId, routeKey, status, responseLatencyMs, integrationError, authorizerError, errorMessage | filter status >= 500 or status = 429 or (ispresent(authorizerError) and authorizerError != '-') | sort @timestamp desc | limit 50`,
      },
    },
  ];
  return { widgets };
}
