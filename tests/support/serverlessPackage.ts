import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
let packages = 0;

/**
 * The settings a production deploy is given, under the names the GitHub workflow's deploy job
 * passes (README "Stage settings"): a stage other than dev packages only with JWT_ISSUER and
 * JWT_AUDIENCE, so a dry-run of a deployed stage passes these.
 */
export const PRODUCTION_SETTINGS = {
  JWT_ISSUER: 'https://issuer.example.com/',
  JWT_AUDIENCE: 'order-management-api-prod',
  CORS_ORIGINS: 'https://app.example.com, https://admin.example.com',
  ALARM_EMAIL: 'oncall@example.com',
} as const;

/** One CloudFormation resource of the packaged template. */
export interface TemplateResource {
  Type: string;
  Properties: Record<string, unknown>;
  DependsOn?: string | string[];
}

/** The template `serverless package` writes (cloudformation-template-update-stack.json). */
export interface Template {
  Resources: Record<string, TemplateResource>;
  Outputs?: Record<string, unknown>;
}

/** What one `serverless package` run left: its output, and on success the template and zips. */
export interface PackagedService {
  ok: boolean;
  /** stdout and stderr, for the messages a failed run prints. */
  output: string;
  /** Where the zips and the template are (the `--package` folder). */
  packageDir: string;
  /** The parsed template; undefined when packaging failed. */
  template: Template | undefined;
  /** Removes the package folder, the run's temporary folder and its esbuild work folder. */
  cleanup(): Promise<void>;
}

/**
 * Runs `serverless package --stage <stage>` as a CI runner without AWS credentials would: the
 * child sees only PATH, HOME and LANG plus `env`. Each run gets a temporary folder of its own as
 * TMPDIR, because osls leaves a `<function>-<pid>-<ms>-<hex>` folder per function in os.tmpdir();
 * cleanup() removes it with the rest. A failed run resolves with ok false and its output.
 */
export async function packageService(stage: string, env: Record<string, string> = {}): Promise<PackagedService> {
  packages += 1;
  const packageDir = await mkdtemp(join(tmpdir(), 'oms-package-'));
  const childTmp = await mkdtemp(join(tmpdir(), 'oms-package-tmp-'));
  const esbuildFolder = `.esbuild/package-${process.pid}-${packages}`;
  const baseEnv: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', 'LANG']) if (process.env[name]) baseEnv[name] = process.env[name];
  const cleanup = async () => {
    await rm(packageDir, { recursive: true, force: true });
    await rm(childTmp, { recursive: true, force: true });
    await rm(join(root, esbuildFolder), { recursive: true, force: true });
  };
  let ok = true;
  let output: string;
  try {
    const result = await run(
      process.execPath,
      [`${root}node_modules/serverless/bin/serverless.js`, 'package', '--stage', stage, '--package', packageDir],
      {
        cwd: root,
        env: {
          ...baseEnv,
          ...env,
          TMPDIR: childTmp,
          ESBUILD_WORK_FOLDER: esbuildFolder,
          SLS_TELEMETRY_DISABLED: '1',
          SLS_NOTIFICATIONS_MODE: 'off',
        },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    output = `${result.stdout}${result.stderr}`;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    ok = false;
    output = `${failed.stdout ?? ''}${failed.stderr ?? ''}` || failed.message;
  }
  const template = ok
    ? (JSON.parse(await readFile(join(packageDir, 'cloudformation-template-update-stack.json'), 'utf8')) as Template)
    : undefined;
  return { ok, output, packageDir, template, cleanup };
}
