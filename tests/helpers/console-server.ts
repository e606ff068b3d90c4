import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * Starts the built console (server.ts, after `npm run build`) on a free
 * loopback port with its own data folder, waits until it answers, and stops
 * it. Logs are kept so tests can assert on them (and that secrets are absent).
 */
export const ROOT = path.resolve(import.meta.dirname, '../..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export type ConsoleServer = {
  url: string;
  port: number;
  dataDir: string;
  /** Everything the process printed so far. */
  output(): string;
  /** The OTP password printed at first start (null if none was printed). */
  otpPassword: string | null;
  proc: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<void>;
};

export async function startConsole(
  opts: { dataDir?: string; keepDataDir?: boolean; env?: Record<string, string>; https?: boolean; timeoutMs?: number } = {},
): Promise<ConsoleServer> {
  const ownDataDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-it-'));
  const port = await freePort();
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NODE_ENV: 'production',
    WEBCONF_DATA_DIR: dataDir,
    WEBCONF_LOG_LEVEL: 'info',
    ...(opts.https
      ? { WEBCONF_HTTPS: 'on', WEBCONF_HTTPS_PORT: String(port), WEBCONF_BIND: '127.0.0.1', NEXTAUTH_URL: `https://localhost:${port}` }
      : { WEBCONF_HTTPS: 'off', WEBCONF_HTTP_PORT: String(port), NEXTAUTH_URL: `http://127.0.0.1:${port}` }),
    ...opts.env,
  };
  delete env.NEXTAUTH_SECRET;
  const proc = spawn(process.execPath, ['--import', 'tsx', 'server.ts'], { cwd: ROOT, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] as const });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const url = opts.https ? `https://localhost:${port}` : `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`Console exited with ${proc.exitCode} before it was ready:\n${out}`);
    if (out.includes('"event":"server.ready"')) break;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`Console was not ready in time:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const otp = /One-time password: (\S+)/.exec(out)?.[1] ?? null;
  return {
    url,
    port,
    dataDir,
    output: () => out,
    otpPassword: otp,
    proc,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && !proc.signalCode) {
        const exited = new Promise<void>((r) => proc.once('exit', () => r()));
        proc.kill(signal);
        const timer = setTimeout(() => proc.kill('SIGKILL'), 8000);
        await exited;
        clearTimeout(timer);
      }
      // A data folder this helper made is removed with the server; one the test passed in is the test's.
      if (ownDataDir && !opts.keepDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
