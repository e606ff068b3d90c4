import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/console-server';
import { startNfsServer, type NfsServer } from '../helpers/nfs-server';
import { appliance, applianceJson, folderSnapshot } from '../helpers/restore-cli';

/**
 * A restore from the configured NFS share (nfs-ganesha on loopback), and
 * the share vanishing (the server killed) while the backup is being read:
 * the restore fails in words and the data folder is as it was.
 */
const DMS = 'nfs restore domain master secret';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-restore-nfs-'));
const template = path.join(tmp, 'appliance');
const envOf = (dir: string) => ({ WEBCONF_DATA_DIR: dir, WEBCONF_APPLIANCE_NAME: 'nfs-test', TEST_DMS: DMS });
let nfs: NfsServer;
let fileName: string;
let n = 0;

beforeAll(async () => {
  nfs = await startNfsServer();
  const env = envOf(template);
  const local = path.join(tmp, 'local');
  fs.mkdirSync(local);
  expect((await appliance(['configure', 'a', local], env)).code).toBe(0);
  expect((await appliance(['big', '160'], env)).code).toBe(0);
  expect((await appliance(['storage', nfs.url('4.1')], env)).code).toBe(0);
  fileName = (await applianceJson(['backup'], env)).fileName;
  expect((await appliance(['configure', 'b', local], env)).code).toBe(0);
  expect((await appliance(['storage', nfs.url('4.1')], env)).code).toBe(0);
}, 300_000);
afterAll(async () => {
  await nfs?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function copy(): string {
  const dir = path.join(tmp, `copy-${++n}`);
  fs.cpSync(template, dir, { recursive: true });
  return dir;
}

describe('restore from an NFS share', () => {
  it('the share vanishing while the file is read changes nothing', async () => {
    const dir = copy();
    const files = folderSnapshot(dir);
    const before = await applianceJson(['dump'], envOf(dir));
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/helpers/appliance-cli.ts', 'restore-storage', fileName, 'nfs-test'], {
      cwd: ROOT,
      env: { ...process.env, WEBCONF_LOG_LEVEL: 'silent', ...envOf(dir) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const ended = new Promise<number | null>((resolve) => child.on('close', resolve));
    // Staging has begun (the backup is being read) once the restore's work folder exists with the firmware image growing.
    const deadline = Date.now() + 60_000;
    const staged = () => {
      const r = path.join(dir, 'appliance');
      const work = fs.existsSync(r) ? fs.readdirSync(r).find((x) => x.startsWith('.restore-')) : undefined;
      const image = work && path.join(r, work, 'new', 'firmware', 'image.bin');
      return Boolean(image && fs.existsSync(image) && fs.statSync(image).size > 0);
    };
    while (!staged() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(staged()).toBe(true);
    await nfs.kill('SIGKILL');
    expect(await ended).toBe(0);
    const result = JSON.parse(out);
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/Nothing was changed/);
    expect(result.error).not.toMatch(/\n\s+at /);
    await nfs.restart();
    expect(folderSnapshot(dir)).toEqual(files);
    const after = await applianceJson(['dump'], envOf(dir));
    expect(after.state).toEqual(before.state);
    expect(after.restores).toEqual([]);
    expect(after.recovery).toBeNull();
  });

  it('with the share back, the same restore from it succeeds', async () => {
    const dir = copy();
    const r = await applianceJson(['restore-storage', fileName, 'nfs-test'], envOf(dir));
    expect(r).toEqual({ ok: true, outcome: expect.stringMatching(/^Restored .* from NFS share nfs:\/\//) });
    const now = await applianceJson(['dump'], envOf(dir));
    expect(now.state.users.map((u: any) => u.username)).toEqual(['admin-a', 'ops-a']);
    expect(Object.keys(now.state.firmware)).toContain('image.bin');
  });
});
