import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './console-server';
import { ignoreEpipe } from './child-io';

/**
 * Runs the `webconf` command and the appliance helper (appliance-cli.ts) as
 * child processes against one data folder: each appliance in a test is its
 * own process with its own data folder, keys and identity.
 */
export type Run = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

export function run(script: string, args: string[], env: Record<string, string>, opts: { input?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: ROOT,
      env: { ...process.env, WEBCONF_LOG_LEVEL: 'silent', ...env } as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    // A command that exits without reading its input closes the pipe: EPIPE is
    // not a failure there; its exit code and output say what happened.
    child.stdin.on('error', ignoreEpipe);
    child.stdin.end(opts.input ?? '');
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export const webconf = (args: string[], env: Record<string, string>, opts?: { input?: string }) => run('bin/webconf.ts', args, env, opts);
export const appliance = (args: string[], env: Record<string, string>) => run('tests/helpers/appliance-cli.ts', args, env);

export async function applianceJson<T = any>(args: string[], env: Record<string, string>): Promise<T> {
  const r = await appliance(args, env);
  if (r.code !== 0) throw new Error(`appliance ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/**
 * Every file and folder of a data folder, with the SHA-256 of each file,
 * except the live database's own files: the database is compared row by row
 * (a refusal adds its entry to the audit trail, which is the point of one).
 */
export function folderSnapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const skip = new Set(['webconf.db', 'webconf.db-wal', 'webconf.db-shm']);
  const walk = (dir: string, rel: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (!rel && skip.has(e.name)) continue;
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) {
        out[`${r}/`] = 'dir';
        walk(abs, r);
      } else out[r] = crypto.createHash('sha256').update(fs.readFileSync(abs)).digest('hex');
    }
  };
  walk(root, '');
  return out;
}
