import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appliance, applianceJson, folderSnapshot, webconf } from '../helpers/restore-cli';
import { startSshServer, type SshServer } from '../helpers/sshd';

/**
 * `webconf restore sftp://…` and `scp://…` against Debian's OpenSSH sshd on
 * loopback, with password and key login; a host key that is not the one
 * given is refused and the data folder stays as it was.
 */
const DMS = 'remote restore domain master secret';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-restore-remote-'));
const storage = path.join(tmp, 'storage');
const template = path.join(tmp, 'appliance');
const envOf = (dir: string) => ({ WEBCONF_DATA_DIR: dir, WEBCONF_APPLIANCE_NAME: 'remote-test', TEST_DMS: DMS });
let sshd: SshServer;
let remotePath: string;
let n = 0;

function secretFile(value: string): string {
  const f = path.join(tmp, `secret-${++n}`);
  fs.writeFileSync(f, value, { mode: 0o600 });
  return f;
}

function copy(): string {
  const dir = path.join(tmp, `copy-${++n}`);
  fs.cpSync(template, dir, { recursive: true });
  return dir;
}

beforeAll(async () => {
  sshd = await startSshServer();
  fs.mkdirSync(storage);
  const env = envOf(template);
  expect((await appliance(['configure', 'a', storage], env)).code).toBe(0);
  const made = await applianceJson(['backup'], env);
  expect((await appliance(['configure', 'b', storage], env)).code).toBe(0);
  remotePath = path.join(sshd.filesDir, made.fileName);
  fs.copyFileSync(path.join(storage, made.fileName), remotePath);
  fs.chmodSync(remotePath, 0o644);
}, 240_000);
afterAll(async () => {
  await sshd?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('webconf restore from a remote host', () => {
  it('sftp with a password and the fingerprint given: restores, and removes the fetched file', async () => {
    const dir = copy();
    const url = `sftp://${sshd.user}@127.0.0.1:${sshd.port}${remotePath}`;
    const r = await webconf(['restore', url, '--password-file', secretFile(sshd.password), '--fingerprint', sshd.hostKeyFingerprint('ed25519'), '--confirm', 'remote-test'], envOf(dir));
    expect(r.stderr).not.toMatch(/failed|refused/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Restored .* from sftp://${sshd.user}@127\\.0\\.0\\.1:${sshd.port}`));
    const now = await applianceJson(['dump'], envOf(dir));
    expect(now.state.users.map((u: any) => u.username)).toEqual(['admin-a', 'ops-a']);
    expect(now.restores).toEqual([expect.objectContaining({ status: 'succeeded', source: 'sftp' })]);
    expect(fs.readdirSync(path.join(dir, 'restore', 'incoming'))).toEqual([]);
    // The password never reaches the output.
    expect(r.stdout + r.stderr).not.toContain(sshd.password);
  });

  it('scp with a private key: the dry-run verifies the fetched file and changes nothing', async () => {
    const dir = copy();
    const key = path.join(tmp, 'id_ed25519');
    fs.writeFileSync(key, sshd.keys.ed25519, { mode: 0o600 });
    const files = folderSnapshot(dir);
    const url = `scp://${sshd.user}@127.0.0.1:${sshd.port}${remotePath}`;
    const r = await webconf(['restore', url, '--identity', key, '--fingerprint', sshd.hostKeyFingerprint('ed25519'), '--dry-run'], envOf(dir));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Dry run: nothing was changed.');
    expect(r.stdout).toMatch(/From +scp:\/\//);
    const after = folderSnapshot(dir);
    // Only the audit trail (in the database, not compared here) records the fetch; the fetched file is gone.
    expect(after).toEqual(files);
  });

  it('a host key other than the one given is refused before logging in, and the data folder stays as it was', async () => {
    const dir = copy();
    const files = folderSnapshot(dir);
    const before = await applianceJson(['dump'], envOf(dir));
    const wrong = sshd.hostKeyFingerprint('rsa');
    const url = `sftp://${sshd.user}@127.0.0.1:${sshd.port}${remotePath}`;
    const r = await webconf(['restore', url, '--password-file', secretFile(sshd.password), '--fingerprint', wrong, '--confirm', 'remote-test'], envOf(dir));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/host key/i);
    expect(r.stderr).toContain(sshd.hostKeyFingerprint('ed25519'));
    expect(folderSnapshot(dir)).toEqual(files);
    const after = await applianceJson(['dump'], envOf(dir));
    expect(after.state).toEqual(before.state);
    expect(after.auditActions.slice(0, -1)).toEqual(before.auditActions);
    expect(after.auditActions.at(-1)).toBe('backup.restore.fetch:failure');
  });
});
