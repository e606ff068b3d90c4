import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { applianceRoot } from '@/lib/backup/appliance';
import { setDms } from '@/lib/backup/dms';
import { backupBlocker, startBackup, waitForBackup } from '@/lib/backup/engine';
import { estimateNextBackupBytes } from '@/lib/backup/estimate';
import { getBackupRun, backupHistory } from '@/lib/backup/runs';
import { saveBackupSettings } from '@/lib/backup/settings';
import { verifyBackupFile } from '@/lib/backup/verify-file';
import { LocalFolderTarget } from '@/lib/storage/local-folder';
import { saveStorageConfig } from '@/lib/storage/config';

const actor = { id: 1, name: 'admin', ip: '127.0.0.1' };
const DMS = 'correct horse battery staple';
let storageDir: string;
let files: Record<string, Buffer>;

function writeConfig(rel: string, data: Buffer) {
  const abs = path.join(applianceRoot(), rel);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  fs.writeFileSync(abs, data);
  files[rel] = data;
}

async function runToEnd(trigger: 'manual' | 'scheduled' = 'manual') {
  const run = await startBackup(trigger, actor);
  await waitForBackup(run.id);
  return getBackupRun(run.id)!;
}

beforeAll(async () => {
  storageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-target-'));
  files = {};
  writeConfig('firmware/version.json', Buffer.from('{"firmware":"1.2.3"}'));
  writeConfig('system/network/interfaces.conf', Buffer.from('eth0 dhcp\n'));
  writeConfig('system/cluster/nodes.json', crypto.randomBytes(200_000));
  writeConfig('system/database/external-db.json', Buffer.from('{"host":"db.example","port":5432}'));
  writeConfig(`system/${'deep/'.repeat(30)}long-name.conf`, Buffer.from('long path'));
  // HSM material is never backed up.
  fs.mkdirSync(path.join(applianceRoot(), 'hsm'), { recursive: true });
  fs.writeFileSync(path.join(applianceRoot(), 'hsm', 'partition.key'), 'HSM-SECRET');
  fs.mkdirSync(path.join(applianceRoot(), 'system', 'hsm'), { recursive: true });
  fs.writeFileSync(path.join(applianceRoot(), 'system', 'hsm', 'slot.cfg'), 'HSM-SLOT');
  // A symbolic link is not followed (it could point anywhere, e.g. at the HSM), but it is named in the manifest.
  fs.symlinkSync(path.join(applianceRoot(), 'hsm', 'partition.key'), path.join(applianceRoot(), 'system', 'key-link'));
});
afterAll(() => fs.rmSync(storageDir, { recursive: true, force: true }));

describe('backup engine', () => {
  it('refuses to back up before the DMS and a storage location are set, in words', async () => {
    expect(await backupBlocker()).toMatch(/Domain Master Secret/);
    await expect(startBackup('manual', actor)).rejects.toThrow(/Set the Domain Master Secret first/);
    await setDms(actor, DMS);
    expect(await backupBlocker()).toMatch(/storage location/);
    // A manual start is refused to the one who asked; a scheduled one, which nobody watches, is in the history with the reason.
    const before = backupHistory().length;
    await expect(startBackup('manual', actor)).rejects.toThrow(/Choose a backup storage location first/);
    expect(backupHistory()).toHaveLength(before);
    await expect(startBackup('scheduled', actor)).rejects.toThrow(/Choose a backup storage location first/);
    const [refused] = backupHistory(1);
    expect(refused).toMatchObject({ trigger: 'scheduled', status: 'failed', error: 'The scheduled backup did not start: Choose a backup storage location first.', fileName: null });
    await saveStorageConfig(actor, { type: 'local', path: storageDir });
    expect(await backupBlocker()).toBeNull();
    expect(backupHistory().filter((r) => r.status === 'running')).toHaveLength(0);
  });

  it('writes an encrypted, signed backup that opens with only the DMS and holds exactly the files that went in', async () => {
    saveBackupSettings(actor, { filenamePrefix: 'site-a' });
    const run = await runToEnd();
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    expect(run.fileName).toMatch(/^site-a-[A-Za-z0-9.-]+-\d{8}T\d{6}Z\.tar\.age$/);
    const onDisk = fs.readdirSync(storageDir);
    expect(onDisk).toEqual([run.fileName]);
    const bytes = fs.readFileSync(path.join(storageDir, run.fileName!));
    expect(bytes.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    expect(crypto.createHash('sha256').update(bytes).digest('hex')).toBe(run.checksum);
    expect(bytes.includes(Buffer.from('eth0 dhcp'))).toBe(false);
    // The free-space warning's estimate of the next backup: never less than this one took, and close to it.
    const estimate = await estimateNextBackupBytes({ fresh: true });
    expect(estimate).toBeGreaterThanOrEqual(bytes.length);
    expect(estimate).toBeLessThan(bytes.length * 1.1 + (1 << 20));

    // Open it as another appliance would: nothing but the DMS.
    const got: Record<string, Buffer> = {};
    const verified = await verifyBackupFile(new LocalFolderTarget(storageDir), run.fileName!, DMS, {
      sink: async (m) => {
        const parts: Buffer[] = [];
        const { Writable } = await import('node:stream');
        return new Writable({
          write(c, _e, cb) {
            parts.push(c);
            cb();
          },
          final(cb) {
            got[m.path] = Buffer.concat(parts);
            cb();
          },
        });
      },
    });
    expect(verified.signatureVerified).toBe(true);
    expect(verified.manifest.database.integrityCheck).toBe('ok');
    const { 'database/webconf.db': dbCopy, ...config } = got;
    expect(Object.keys(config).sort()).toEqual(Object.keys(files).sort());
    for (const [k, v] of Object.entries(files)) expect(config[k]!.equals(v)).toBe(true);
    expect(dbCopy!.subarray(0, 16).toString()).toBe('SQLite format 3\0');
    expect(Object.keys(got).some((k) => k.toLowerCase().includes('hsm'))).toBe(false);
    expect(Object.keys(got)).not.toContain('system/key-link');
    expect(verified.manifest.contents.excluded).toContain('system/key-link (not a regular file: symbolic link or special file)');
    expect(Buffer.concat(Object.values(got)).includes(Buffer.from('HSM-SECRET'))).toBe(false);
  });

  it('rejects the backup under a wrong DMS', async () => {
    const run = backupHistory().find((r) => r.status === 'succeeded')!;
    await expect(verifyBackupFile(new LocalFolderTarget(storageDir), run.fileName!, 'wrong secret!!')).rejects.toThrow(/Domain Master Secret|passphrase/i);
  });

  it('lets exactly one of two concurrent backups run', async () => {
    const results = await Promise.allSettled([startBackup('manual', actor), startBackup('scheduled', actor)]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(String(refused[0]!.reason.message)).toMatch(/already in progress/);
    await waitForBackup((ok[0] as PromiseFulfilledResult<{ id: number }>).value.id);
  });

  it('fails at once with a clear message when the target has too little space, leaving nothing behind', async () => {
    const tiny = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-tiny-'));
    await saveStorageConfig(actor, { type: 'local', path: tiny });
    // A nearly full disk, as the engine sees it (a real full disk is in the integration tests).
    const spy = vi.spyOn(LocalFolderTarget.prototype, 'space').mockResolvedValue({ totalBytes: 1e6, freeBytes: 1000, usedBytes: 999000 });
    try {
      const run = await runToEnd();
      expect(run.status).toBe('failed');
      expect(run.error).toMatch(/Not enough free space/);
      expect(fs.readdirSync(tiny)).toEqual([]);
    } finally {
      spy.mockRestore();
      await saveStorageConfig(actor, { type: 'local', path: storageDir });
      fs.rmSync(tiny, { recursive: true, force: true });
    }
  });

  it('records a failure in words and frees the lock when the engine cannot even prepare', async () => {
    const tmp = path.join(process.env.WEBCONF_DATA_DIR!, 'tmp');
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.writeFileSync(tmp, 'not a folder');
    try {
      const run = await runToEnd();
      expect(run.status).toBe('failed');
      expect(run.error).toMatch(/internal error .*backup #\d+/);
      expect(backupHistory().filter((r) => r.status === 'running')).toHaveLength(0);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    expect((await runToEnd()).status).toBe('succeeded');
  });

  it('keeps only the N most recent successful backups and never files it did not write', async () => {
    fs.writeFileSync(path.join(storageDir, 'someone-elses-file.tar.age'), 'not ours');
    saveBackupSettings(actor, { retention: 2 });
    for (let i = 0; i < 3; i++) {
      const r = await runToEnd();
      expect(r.status).toBe('succeeded');
      await new Promise((res) => setTimeout(res, 1100));
    }
    const ours = fs.readdirSync(storageDir).filter((f) => f.startsWith('site-a-'));
    expect(ours).toHaveLength(2);
    expect(fs.existsSync(path.join(storageDir, 'someone-elses-file.tar.age'))).toBe(true);
    const newest = backupHistory().find((r) => r.status === 'succeeded')!;
    expect(ours).toContain(newest.fileName);

    // A kept backup's name now holds a different file (someone replaced it): retention leaves it alone.
    const oldest = ours.sort()[0]!;
    fs.writeFileSync(path.join(storageDir, oldest), 'replaced by someone');
    await new Promise((res) => setTimeout(res, 1100));
    expect((await runToEnd()).status).toBe('succeeded');
    expect(fs.readFileSync(path.join(storageDir, oldest), 'utf8')).toBe('replaced by someone');
  });
});
