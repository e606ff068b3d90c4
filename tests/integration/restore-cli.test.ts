import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appliance, applianceJson, folderSnapshot, webconf } from '../helpers/restore-cli';

/**
 * `webconf restore` on real data folders, each appliance its own process:
 * a round trip on the appliance that made the backup, the same backup on a
 * second appliance with the DMS, and every refusal leaving the data folder
 * as it was (files byte for byte, the database row by row; the audit trail
 * gains the refusal's entry).
 */
const DMS_A = 'appliance a domain master secret';
const DMS_B = 'appliance b has its own secret';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-restore-cli-'));
const storage = path.join(tmp, 'storage');
const template = path.join(tmp, 'appliance-a');
const envOf = (dir: string, extra: Record<string, string> = {}) => ({ WEBCONF_DATA_DIR: dir, WEBCONF_APPLIANCE_NAME: 'appliance-a', TEST_DMS: DMS_A, ...extra });
let atBackup: any;
let backupFile: string;
let secondFile: string;
let n = 0;

function copyOfA(): string {
  const dir = path.join(tmp, `a-copy-${++n}`);
  fs.cpSync(template, dir, { recursive: true });
  return dir;
}

function secretFile(value: string): string {
  const f = path.join(tmp, `secret-${++n}`);
  fs.writeFileSync(f, value, { mode: 0o600 });
  return f;
}

beforeAll(async () => {
  fs.mkdirSync(storage);
  const env = envOf(template);
  expect((await appliance(['configure', 'a', storage], env)).code).toBe(0);
  atBackup = await applianceJson(['dump'], env);
  backupFile = path.join(storage, (await applianceJson(['backup'], env)).fileName);
  // Then everything changes: accounts, sign-in, prefix, retention, schedule, configuration files, history.
  expect((await appliance(['configure', 'b', storage], env)).code).toBe(0);
  secondFile = path.join(storage, (await applianceJson(['backup'], env)).fileName);
}, 240_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('webconf restore', () => {
  it('dry-run: prints the plan and changes nothing', async () => {
    const dir = copyOfA();
    const files = folderSnapshot(dir);
    const before = await applianceJson(['dump'], envOf(dir));
    const r = await webconf(['restore', backupFile, '--dry-run'], envOf(dir));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Can be restored here');
    expect(r.stdout).toMatch(/accounts: .*admin-b \(admin\).* → admin-a \(admin\), ops-a \(operator\)/);
    expect(r.stdout).toContain('Dry run: nothing was changed.');
    expect(folderSnapshot(dir)).toEqual(files);
    const after = await applianceJson(['dump'], envOf(dir));
    expect(after.state).toEqual(before.state);
  });

  it('round trip on the appliance that made it: every setting, account, history row and file as at backup time', async () => {
    const dir = copyOfA();
    const r = await webconf(['restore', backupFile, '--confirm', 'appliance-a'], envOf(dir));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Restored .*\.tar\.age/);
    const now = await applianceJson(['dump'], envOf(dir));
    expect(now.state.users).toEqual(atBackup.state.users);
    expect(now.state.settings).toEqual(atBackup.state.settings);
    expect(now.state.dms).toEqual(atBackup.state.dms);
    expect(now.state.firmware).toEqual(atBackup.state.firmware);
    expect(now.state.system).toEqual(atBackup.state.system);
    expect(now.state.history.slice(0, atBackup.state.history.length)).toEqual(atBackup.state.history);
    expect(now.state.history.at(-1)).toMatchObject({ status: 'succeeded', fileName: path.basename(backupFile) });
    expect(now.restores).toEqual([expect.objectContaining({ status: 'succeeded', source: 'file', requestedBy: expect.stringMatching(/^command line/) })]);
    expect(now.applianceId).toBe(atBackup.applianceId);
    expect(fs.readdirSync(path.join(dir, 'restore', 'safety'))).toHaveLength(1);
  });

  it('a second appliance restores the same backup with the DMS, keeps its own identity, and backs up with the restored DMS', async () => {
    const dir = path.join(tmp, 'appliance-b');
    const env = { WEBCONF_DATA_DIR: dir, WEBCONF_APPLIANCE_NAME: 'appliance-b', TEST_DMS: DMS_B };
    const storageB = path.join(tmp, 'storage-b');
    fs.mkdirSync(storageB);
    expect((await appliance(['configure', 'c', storageB], env)).code).toBe(0);
    const own = await applianceJson(['dump'], env);
    // Its own DMS does not open A's backup, and says so.
    const without = await webconf(['restore', backupFile, '--confirm', 'appliance-b'], env);
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/made with another Domain Master Secret: enter that secret/);
    const r = await webconf(['restore', backupFile, '--dms-file', secretFile(DMS_A), '--confirm', 'appliance-b'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/made on another appliance/);
    expect(r.stdout).toMatch(/The OpenID Connect client secret was sealed by another appliance/);
    const now = await applianceJson(['dump'], env);
    expect(now.applianceId).toBe(own.applianceId);
    expect(now.applianceId).not.toBe(atBackup.applianceId);
    expect(now.state.users).toEqual(atBackup.state.users);
    expect(now.state.dms).toEqual(atBackup.state.dms);
    expect(now.state.firmware).toEqual(atBackup.state.firmware);
    expect(now.state.system).toEqual(atBackup.state.system);
    const byKey = (s: any) => Object.fromEntries(s.settings.map((x: any) => [x.key, JSON.parse(x.value)]));
    const [was, is] = [byKey(atBackup.state), byKey(now.state)];
    expect(is.backup).toEqual(was.backup);
    expect(is.storage).toEqual(was.storage);
    expect(is.appliance).toEqual({ id: own.applianceId });
    // The OIDC secret was sealed with A's key: cleared, OIDC off, the rest as it was.
    expect(is.oidc).toEqual({ ...was.oidc, enabled: false, clientSecretSealed: '' });
    // The restored DMS, sealed again with B's key, runs B's next backup unattended, and opens it.
    fs.mkdirSync(storage, { recursive: true });
    const next = await applianceJson(['backup'], env);
    const dry = await webconf(['restore', path.join(storage, next.fileName), '--dry-run'], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/Domain Master Secret +the backup's, which is this appliance's own/);
  });

  describe('each refusal leaves the data folder as it was', () => {
    async function refused(args: string[], expected: RegExp, prepare?: (dir: string) => Promise<void>, extraEnv: Record<string, string> = {}) {
      const dir = copyOfA();
      await prepare?.(dir);
      const files = folderSnapshot(dir);
      const before = await applianceJson(['dump'], envOf(dir));
      const r = await webconf(args, envOf(dir, extraEnv));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(expected);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(folderSnapshot(dir)).toEqual(files);
      const after = await applianceJson(['dump'], envOf(dir));
      expect(after.state).toEqual(before.state);
      expect(after.restores).toEqual(before.restores);
      expect(after.auditActions.slice(0, before.auditActions.length)).toEqual(before.auditActions);
      expect(after.auditActions.length).toBe(before.auditActions.length + 1);
      expect(after.auditActions.at(-1)).toMatch(/^backup\.restore/);
      return dir;
    }

    it('a wrong DMS', () => refused(['restore', backupFile, '--dms-file', secretFile('not the secret'), '--confirm', 'appliance-a'], /does not open this backup/));

    it('a tampered file (one bit flipped in the middle)', () => {
      const f = path.join(tmp, `tampered-${++n}.tar.age`);
      const bytes = fs.readFileSync(backupFile);
      bytes[Math.floor(bytes.length / 2)]! ^= 0x10;
      fs.writeFileSync(f, bytes);
      return refused(['restore', f, '--confirm', 'appliance-a'], /failed verification|damaged/);
    });

    it('a truncated file', () => {
      const f = path.join(tmp, `truncated-${++n}.tar.age`);
      const bytes = fs.readFileSync(backupFile);
      fs.writeFileSync(f, bytes.subarray(0, bytes.length - 1000));
      return refused(['restore', f, '--confirm', 'appliance-a'], /truncated|cut short|damaged|failed verification/i);
    });

    it('another firmware version, naming the one needed', () => refused(['restore', backupFile, '--confirm', 'appliance-a'], /firmware version 1\.0\.0; this appliance runs 1\.0\.1\. .*install firmware 1\.0\.0/, undefined, { WEBCONF_FIRMWARE_VERSION: '1.0.1' }));

    it('a backup from a newer console (schema)', async () => {
      const dir = path.join(tmp, 'appliance-newer');
      const env = envOf(dir);
      const storageC = path.join(tmp, 'storage-c');
      fs.mkdirSync(storageC);
      expect((await appliance(['configure', 'n', storageC], env)).code).toBe(0);
      expect((await appliance(['newer-schema'], env)).code).toBe(0);
      const newer = path.join(storageC, (await applianceJson(['backup'], env)).fileName);
      await refused(['restore', newer, '--dms-file', secretFile(DMS_A), '--confirm', 'appliance-a'], /made by a newer console .*Update the console/);
    });

    it('while a backup runs', () =>
      refused(['restore', backupFile, '--confirm', 'appliance-a'], /A backup is in progress/, async (dir) => {
        expect((await appliance(['hold', 'backup'], envOf(dir))).code).toBe(0);
      }));

    it('while another restore runs', () =>
      refused(['restore', backupFile, '--confirm', 'appliance-a'], /Another restore is in progress/, async (dir) => {
        expect((await appliance(['hold', 'restore', String(process.pid)], envOf(dir))).code).toBe(0);
      }));

    it('a wrong confirmation', () => refused(['restore', backupFile, '--confirm', 'appliance-b'], /Type the appliance name, appliance-a/));
  });
});
