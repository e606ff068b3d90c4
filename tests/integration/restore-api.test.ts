import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import { ConsoleClient } from '../helpers/http-client';
import { appliance, applianceJson, folderSnapshot } from '../helpers/restore-cli';

/**
 * A restore inside the running console (the Backup page's way): the
 * console closes and reopens its own database while it serves, every
 * session ends (the old cookie is refused), the restored accounts sign in,
 * and the restore's outcome is there to read. Refusals through the API
 * (another role, a wrong DMS) change nothing.
 */
const DMS = 'api restore domain master secret';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-restore-api-'));
const dataDir = path.join(tmp, 'data');
const storage = path.join(tmp, 'storage');
const env = { WEBCONF_DATA_DIR: dataDir, WEBCONF_APPLIANCE_NAME: 'api-test', TEST_DMS: DMS };
let server: ConsoleServer;
let fileName: string;

beforeAll(async () => {
  fs.mkdirSync(storage);
  expect((await appliance(['configure', 'a', storage], env)).code).toBe(0);
  fileName = (await applianceJson(['backup'], env)).fileName;
  expect((await appliance(['configure', 'b', storage], env)).code).toBe(0);
  server = await startConsole({ dataDir, keepDataDir: true, env: { WEBCONF_APPLIANCE_NAME: 'api-test' } });
}, 300_000);
afterAll(async () => {
  await server?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('restore through the running console', () => {
  it('an operator is refused on every restore route and nothing changes', async () => {
    const ops = new ConsoleClient(server.url);
    expect((await ops.signIn('ops-b', 'pass-b-0123456789')).ok).toBe(true);
    const files = folderSnapshot(dataDir);
    for (const [route, method, body] of [
      ['/api/restore/plan', 'POST', { source: { kind: 'storage', fileName } }],
      ['/api/restore', 'POST', { source: { kind: 'storage', fileName }, confirm: 'api-test' }],
      ['/api/restore', 'GET', undefined],
      ['/api/restore/remote/probe', 'POST', { host: '127.0.0.1', port: 22 }],
    ] as const) {
      const r = await ops.json<{ error: { message: string } }>(route, method, body);
      expect(r.status, route).toBe(403);
      expect(r.body.error.message).toBe('The Operator role cannot restore backups.');
    }
    expect(folderSnapshot(dataDir)).toEqual(files);
  });

  it('a wrong DMS is refused at its field', async () => {
    const admin = new ConsoleClient(server.url);
    expect((await admin.signIn('admin-b', 'pass-b-0123456789')).ok).toBe(true);
    const r = await admin.json<{ error: { fields: Record<string, string[]> } }>('/api/restore/plan', 'POST', { source: { kind: 'storage', fileName }, dms: 'not the secret' });
    expect(r.status).toBe(422);
    expect(r.body.error.fields.dms).toEqual([expect.stringMatching(/does not open this backup/)]);
  });

  it('uploads stream whole past the proxy: 12 MB arrive as 12 MB; the plan names the file by its own name, not the temporary one', async () => {
    const admin = new ConsoleClient(server.url);
    expect((await admin.signIn('admin-b', 'pass-b-0123456789')).ok).toBe(true);
    const big = Buffer.concat([Buffer.from('age-encryption.org/v1\n'), Buffer.alloc(12 * 1024 * 1024, 0x61)]);
    const send = (body: Buffer, name: string) =>
      admin.fetch('/api/restore/upload', { method: 'POST', headers: { origin: server.url, 'content-type': 'application/octet-stream', 'x-webconf-file-name': encodeURIComponent(name) }, body: new Uint8Array(body) });
    const up = await send(big, 'big.tar.age');
    expect(up.status).toBe(201);
    const file = ((await up.json()) as { file: { id: string; size: number } }).file;
    expect(file.size).toBe(big.length);
    expect((await admin.json(`/api/restore/incoming/${file.id}`, 'DELETE')).status).toBe(200);
    const real = await send(fs.readFileSync(path.join(storage, fileName)), fileName);
    expect(real.status).toBe(201);
    const id = ((await real.json()) as { file: { id: string } }).file.id;
    const plan = await admin.json<{ plan: { file: { name: string; source: string } } }>('/api/restore/plan', 'POST', { source: { kind: 'incoming', id } });
    expect(plan.status).toBe(200);
    expect(plan.body.plan.file).toMatchObject({ name: fileName, source: `uploaded file ${fileName}` });
    expect((await admin.json(`/api/restore/incoming/${id}`, 'DELETE')).status).toBe(200);
  });

  it('dry-run, restore, sessions end, the restored accounts sign in and read the outcome', async () => {
    const admin = new ConsoleClient(server.url);
    expect((await admin.signIn('admin-b', 'pass-b-0123456789')).ok).toBe(true);
    const plan = await admin.json<{ plan: { blockers: string[]; confirmWith: string } }>('/api/restore/plan', 'POST', { source: { kind: 'storage', fileName } });
    expect(plan.status).toBe(200);
    expect(plan.body.plan.blockers).toEqual([]);
    expect(plan.body.plan.confirmWith).toBe('api-test');
    const wrong = await admin.json<{ error: { fields: Record<string, string[]> } }>('/api/restore', 'POST', { source: { kind: 'storage', fileName }, confirm: 'not-it' });
    expect(wrong.status).toBe(422);
    expect(wrong.body.error.fields.confirm).toEqual(['Type the appliance name, api-test, to confirm the restore.']);
    const started = await admin.json<{ runId: number }>('/api/restore', 'POST', { source: { kind: 'storage', fileName }, confirm: 'api-test' });
    expect(started.status).toBe(202);
    // The admin's own session ends with the restore: polling turns 401 once the restored state is live.
    let status = 200;
    for (let i = 0; i < 120 && status === 200; i++) {
      await new Promise((r) => setTimeout(r, 500));
      status = (await admin.json('/api/restore')).status;
    }
    expect(status).toBe(401);
    expect((await admin.json('/api/me')).status).toBe(401);
    // The accounts are the backup's: admin-b is gone, admin-a signs in.
    expect((await new ConsoleClient(server.url).signIn('admin-b', 'pass-b-0123456789')).ok).toBe(false);
    const restored = new ConsoleClient(server.url);
    expect((await restored.signIn('admin-a', 'pass-a-0123456789')).ok).toBe(true);
    // Signed in while the post-check may still run: the restore's row says running until it is committed.
    let after = await restored.json<{ recent: { status: string; outcome: string; fileName: string }[] }>('/api/restore');
    for (let i = 0; i < 60 && after.body.recent[0]?.status === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 500));
      after = await restored.json('/api/restore');
    }
    expect(after.status).toBe(200);
    expect(after.body.recent[0]).toMatchObject({ status: 'succeeded', fileName, outcome: expect.stringMatching(/^Restored /) });
    const health = await restored.json<{ ok: boolean }>('/api/health');
    expect(health.body.ok).toBe(true);
    // The restored schedule and settings are the backup's.
    const settings = await restored.json<Record<string, unknown>>('/api/backup/settings');
    expect(JSON.stringify(settings.body)).toContain('site-a');
  });
});
