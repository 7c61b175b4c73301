/**
 * Least privilege by what a function does, as CloudFormation. Three kinds of function, three roles:
 * - reads the database (list, get, availability): the connection string from SSM, through KMS.
 *   This is the role osls builds (`provider.iam.role.statements: ...:databaseStatements`), which
 *   every function without a `role:` of its own gets.
 * - writes (creates, updates, deletes) and the outbox sweep: the same, plus `events:PutEvents` on
 *   the stack's bus, for the outbox relay (`EventPublisherRole`).
 * - neither (the docs and the catch-all 404): its logs and traces only (`NoDatabaseRole`).
 * serverless.yml names the role on each function that is not a reader; tests/deploy/package.test.ts
 * checks each function's role against what its bundle imports (the SSM and EventBridge clients).
 *
 * The two roles of our own carry what osls puts in its own (the function log groups' writes, scoped
 * as osls scopes them, and the trace uploads that `provider.tracing.lambda` adds), since a function
 * with a `role:` gets nothing from osls.
 *
 * CommonJS because osls loads file functions with require().
 */
'use strict';

/** An ARN built with the partition (no literal `arn:aws:`: GovCloud and China have others). */
function arn(service, resource) {
  return { 'Fn::Sub': `arn:\${AWS::Partition}:${service}:\${AWS::Region}:\${AWS::AccountId}:${resource}` };
}

/** The connection string's SSM parameter, and its SecureString decryption through SSM only. */
function databaseStatements(mongodbUriParameter) {
  return [
    { Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: arn('ssm', `parameter${mongodbUriParameter}`) },
    {
      Effect: 'Allow',
      Action: ['kms:Decrypt'],
      Resource: '*',
      Condition: {
        StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['ssm.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
      },
    },
  ];
}

/** What osls grants every function it builds a role for: its log group's writes and trace uploads. */
function baseStatements(functionPrefix) {
  return [
    {
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:CreateLogGroup', 'logs:TagResource'],
      Resource: [arn('logs', `log-group:/aws/lambda/${functionPrefix}*:*`)],
    },
    {
      Effect: 'Allow',
      Action: ['logs:PutLogEvents'],
      Resource: [arn('logs', `log-group:/aws/lambda/${functionPrefix}*:*:*`)],
    },
    { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: ['*'] },
  ];
}

/** A role Lambda can assume, with one inline policy. */
function lambdaRole(policyName, statements) {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] }],
      },
      Policies: [{ PolicyName: policyName, PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
    },
  };
}

/** Reads the service, stage and SSM parameter and returns `{ databaseStatements, Resources }`. */
module.exports = async ({ resolveVariable }) => {
  const service = await resolveVariable('self:service');
  const stage = await resolveVariable('sls:stage');
  const mongodbUriParameter = String(await resolveVariable('param:mongodbUriParameter'));
  const prefix = `${service}-${stage}`;
  const database = databaseStatements(mongodbUriParameter);
  const putEvents = { Effect: 'Allow', Action: ['events:PutEvents'], Resource: { 'Fn::GetAtt': ['EventBus', 'Arn'] } };
  return {
    databaseStatements: database,
    Resources: {
      EventPublisherRole: lambdaRole(`${prefix}-event-publisher`, [...baseStatements(prefix), ...database, putEvents]),
      NoDatabaseRole: lambdaRole(`${prefix}-no-database`, baseStatements(prefix)),
    },
  };
};
