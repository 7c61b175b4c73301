/**
 * Runs a bench child process to its end. Node's own `execFile` collects the output and turns a
 * non-zero exit into an error; this only adds an error message that carries the child's last output,
 * so a failed measurement says why.
 */
import { execFile } from 'node:child_process';

export interface ChildOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Runs `command` with `args`, resolving with its stdout and stderr once it exits 0. */
export function runChild(
  command: string,
  args: string[],
  options: ChildOptions = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { ...options, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) {
        const output = (stderr || stdout).slice(-2000);
        reject(new Error(`${command} ${args.join(' ')} failed (exit ${error.code ?? error.signal}): ${output}`));
        return;
      }
      resolve({ stdout, stderr });
    });
  });
}
