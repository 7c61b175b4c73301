/**
 * A stand-in for the AWS Distro for OpenTelemetry (ADOT) Node.js Lambda layer, assembled from npm
 * (the layer itself is a download from AWS, out of reach here). It mirrors how the layer is built
 * and how it starts (aws-observability/aws-otel-js-instrumentation, lambda-layer/):
 * - the layer's `wrapper.js` is `require('@aws/aws-distro-opentelemetry-node-autoinstrumentation/register')`
 *   bundled and minified (webpack there, esbuild here) with `import-in-the-middle`,
 *   `require-in-the-middle` and `@aws-sdk/*` left outside; `lite-wrapper.js` is the same for
 *   `configureLiteMode()` (OTEL_AWS_LAMBDA_FAST_START=true);
 * - on Node 24 its `otel-instrument` (AWS_LAMBDA_EXEC_WRAPPER) adds `--import /opt/wrapper.mjs`
 *   (or `lite-wrapper.mjs`) to NODE_OPTIONS: that file registers import-in-the-middle's loader
 *   hook with `module.register`, then imports the bundled wrapper;
 * - and it exports the environment below (`layerEnvironment`).
 * What it cannot capture: the layer's exact build (webpack output, its pinned versions), its files
 * on /opt, the `otel-instrument` shell script's own start-up, the Lambda runtime loading the
 * handler (the bench's loader imports it), and anything about the real X-Ray endpoint.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { runChild } from './childProcess.ts';

/** The ADOT Node.js distribution the layer is built from: the latest on npm as of this bench's writing. */
export const ADOT_PACKAGE = '@aws/aws-distro-opentelemetry-node-autoinstrumentation@0.13.0';

export interface AdotStandIn {
  /** `--import` target of the full SDK (the layer's default). */
  full: string;
  /** `--import` target of lite mode (traces only, UDP to the X-Ray endpoint). */
  lite: string;
}

const ESM_WRAPPER = (
  target: string,
) => `// Stand-in for the ADOT layer's ESM wrapper: import-in-the-middle's hook, then the bundled SDK.
import { register } from 'node:module';
import { createAddHookMessageChannel } from 'import-in-the-middle';
const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
await waitForAllMessagesAcknowledged();
await import('./${target}');
`;

/** Installs the ADOT package in `dir` (npm), bundles the two wrappers and writes their ESM entries. */
export async function prepareAdotStandIn(dir: string): Promise<AdotStandIn> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{"name":"adot-layer-stand-in","private":true}\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  await runChild(npm, ['install', '--no-audit', '--no-fund', '--ignore-scripts', ADOT_PACKAGE], { cwd: dir });
  const sources = {
    'wrapper.js': "require('@aws/aws-distro-opentelemetry-node-autoinstrumentation/register');\n",
    'lite-wrapper.js': "require('@aws/aws-distro-opentelemetry-node-autoinstrumentation/lite').configureLiteMode();\n",
  };
  for (const [out, contents] of Object.entries(sources)) {
    await esbuild.build({
      stdin: { contents, resolveDir: dir, loader: 'js' },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node24',
      minify: true,
      external: ['import-in-the-middle', 'require-in-the-middle', '@aws-sdk/*'],
      outfile: join(dir, out),
      logLevel: 'error',
    });
  }
  writeFileSync(join(dir, 'wrapper.mjs'), ESM_WRAPPER('wrapper.js'));
  writeFileSync(join(dir, 'lite-wrapper.mjs'), ESM_WRAPPER('lite-wrapper.js'));
  return { full: join(dir, 'wrapper.mjs'), lite: join(dir, 'lite-wrapper.mjs') };
}

/**
 * What the layer's `otel-instrument` exports on a Node 24 function with no OTEL_* settings of its
 * own, plus what the Lambda runtime gives it: the handler's location (its aws-lambda
 * instrumentation wraps the handler found there) and the function's name.
 */
export function layerEnvironment(taskRoot: string, handler: string, lite: boolean): Record<string, string> {
  const name = 'bench-cold-start';
  return {
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    LAMBDA_TASK_ROOT: taskRoot,
    _HANDLER: handler,
    HANDLER_IS_ESM: 'true',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'aws-sdk,aws-lambda,http',
    OTEL_SERVICE_NAME: name,
    OTEL_PROPAGATORS: 'baggage,tracecontext,xray',
    OTEL_AWS_APPLICATION_SIGNALS_ENABLED: 'true',
    OTEL_RESOURCE_ATTRIBUTES: `service.name=${name},cloud.region=eu-west-1,cloud.provider=aws,cloud.platform=aws_lambda,faas.name=${name}`,
    ...(lite && { OTEL_AWS_LAMBDA_FAST_START: 'true' }),
  };
}
