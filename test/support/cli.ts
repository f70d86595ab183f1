import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { REPO_ROOT } from './synth';

/** `npx clickstream …` as an operator runs it (a child process; no endpoint from this process leaks in). */
export function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'clickstream.cjs'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, AWS_ENDPOINT_URL: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}
