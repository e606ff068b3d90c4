import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startConsole } from './tests/helpers/console-server';
import { ConsoleClient } from './tests/helpers/http-client';
const N = 300;
async function time(label: string, fn: () => Promise<unknown>) {
  for (let i = 0; i < 30; i++) await fn();
  const xs: number[] = [];
  for (let i = 0; i < N; i++) { const t0 = performance.now(); await fn(); xs.push(performance.now() - t0); }
  xs.sort((a, b) => a - b);
  console.log(label.padEnd(40), 'median', xs[N >> 1]!.toFixed(2), 'ms  p10', xs[Math.floor(N * 0.1)]!.toFixed(2));
}
async function main() {
  const bare = http.createServer((_q, r) => { r.setHeader('content-type', 'application/json'); r.end('{"ok":true}'); });
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
  const bareUrl = `http://127.0.0.1:${(bare.address() as any).port}/`;
  const server = await startConsole();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'req-'));
  for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(dir, `f${i}`), 'x');
  try {
    const otp = new ConsoleClient(server.url);
    if (!(await otp.signIn('otp', server.otpPassword!)).ok) throw new Error('sign-in');
    await time('bare node http', async () => (await fetch(bareUrl)).text());
    await time('/api/health (no auth)', async () => (await fetch(server.url + '/api/health')).text());
    await time('/api/storage/browse local 5 files', async () => { const r = await otp.fetch(`/api/storage/browse?url=${encodeURIComponent('file://' + dir)}&limit=100`); if (r.status !== 200) throw new Error(String(r.status) + await r.text()); await r.text(); });
    await time('/api/backup/status?', async () => (await otp.fetch('/api/nonexistent-xyz')).text());
  } finally { await server.stop(); bare.close(); }
}
main();
