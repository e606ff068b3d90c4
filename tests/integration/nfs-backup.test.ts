import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNfsServer, type NfsServer } from '../helpers/nfs-server';

/**
 * The backup engine with an NFS share as its storage location (lib/nfs, no
 * mount), against nfs-ganesha: the configured share is checked, a backup is
 * written there, read back through NFS and published; verifyBackupFile opens
 * it through NFS with only the DMS; a server that dies mid-backup fails the
 * run in words and publishes nothing.
 */
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-nfs-backup-'));
process.env.WEBCONF_DATA_DIR = dataDir;
process.env.WEBCONF_LOG_LEVEL = 'silent';

const DMS = 'nfs backup domain master secret';
const actor = { id: 1, name: 'admin', ip: '127.0.0.1' };
let server: NfsServer;
let lib: {
  engine: typeof import('@/lib/backup/engine');
  runs: typeof import('@/lib/backup/runs');
  dms: typeof import('@/lib/backup/dms');
  config: typeof import('@/lib/storage/config');
  verify: typeof import('@/lib/backup/verify-file');
  appliance: typeof import('@/lib/backup/appliance');
  schemas: typeof import('@/lib/storage/schemas');
};
const files: Record<string, Buffer> = {};

beforeAll(async () => {
  server = await startNfsServer({ sizeMiB: 256 });
  lib = {
    engine: await import('@/lib/backup/engine'),
    runs: await import('@/lib/backup/runs'),
    dms: await import('@/lib/backup/dms'),
    config: await import('@/lib/storage/config'),
    verify: await import('@/lib/backup/verify-file'),
    appliance: await import('@/lib/backup/appliance'),
    schemas: await import('@/lib/storage/schemas'),
  };
  const write = (rel: string, data: Buffer) => {
    const abs = path.join(lib.appliance.applianceRoot(), rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, data);
    files[rel] = data;
  };
  write('firmware/version.json', Buffer.from('{"firmware":"2.0.0"}'));
  write('system/network/interfaces.conf', Buffer.from('eth0 static 10.0.0.2/24\n'));
  write('system/cluster/state.bin', crypto.randomBytes(24 << 20));
  await lib.dms.setDms(actor, DMS);
});
afterAll(async () => {
  await server?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function run() {
  const r = await lib.engine.startBackup('manual', actor);
  await lib.engine.waitForBackup(r.id);
  return lib.runs.getBackupRun(r.id)!;
}

describe('backups to an NFS share', () => {
  it('refuses a share that does not exist or may not be written, in words, and keeps the setting as it was', async () => {
    const bad = lib.schemas.storageFormSchema.safeParse({ type: 'nfs', url: 'nfs://127.0.0.1/x?version=3' });
    expect(bad.success).toBe(false);
    await expect(lib.config.saveStorageConfig(actor, { type: 'nfs', url: server.url('4.1').replace('/export', '/nowhere') })).rejects.toThrow(/no such export or path/);
    await expect(lib.config.saveStorageConfig(actor, { type: 'nfs', url: server.readonly.url('4.1') })).rejects.toThrow(/may not write/);
    expect(lib.config.getStorageConfig()).toEqual({ type: 'none' });
  });

  for (const version of ['4', '4.1', '4.2'] as const) {
    it(`writes, reads back and publishes a backup over NFS ${version}, which opens through NFS with only the DMS`, async () => {
      const parsed = lib.schemas.storageFormSchema.parse({ type: 'nfs', url: server.url(version) });
      await lib.config.saveStorageConfig(actor, parsed);
      expect(await lib.engine.backupBlocker()).toBeNull();
      const done = await run();
      expect(done.error).toBeNull();
      expect(done.status).toBe('succeeded');
      expect(done.target).toMatch(/^NFS share nfs:\/\/127\.0\.0\.1:\d+\/export\?version=4\.\d$/);
      const onServer = fs.readdirSync(server.exportDir);
      expect(onServer).toContain(done.fileName);
      expect(onServer.filter((n) => n.endsWith('.partial'))).toEqual([]);
      const stored = fs.readFileSync(path.join(server.exportDir, done.fileName!));
      expect(stored.length).toBe(done.sizeBytes);
      expect(crypto.createHash('sha256').update(stored).digest('hex')).toBe(done.checksum);

      const target = lib.config.openStorage()!;
      const got: Record<string, Buffer[]> = {};
      try {
        const verified = await lib.verify.verifyBackupFile(target, done.fileName!, DMS, {
          sink: async (m) => {
            got[m.path] = [];
            const { Writable } = await import('node:stream');
            return new Writable({
              write(c, _e, cb) {
                got[m.path]!.push(c as Buffer);
                cb();
              },
            });
          },
        });
        expect(verified.signatureVerified).toBe(true);
        expect(verified.checksum).toBe(done.checksum);
      } finally {
        await target.close();
      }
      for (const [rel, data] of Object.entries(files)) expect(Buffer.concat(got[rel] ?? []).equals(data)).toBe(true);
    });
  }

  it('a read that breaks off (server gone) errors the stream in the target\'s words', async () => {
    fs.writeFileSync(path.join(server.exportDir, 'large.bin'), crypto.randomBytes(48 << 20));
    const { NfsTarget } = await import('@/lib/storage/nfs-target');
    const target = new NfsTarget(server.url('4.2'), { timeoutMs: 3000 });
    try {
      const stream = await target.read('large.bin');
      let got = 0;
      const err = await (async () => {
        for await (const c of stream) {
          got += (c as Buffer).length;
          if (got >= 4 << 20 && server.pid()) await server.kill('SIGKILL');
        }
      })().then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err).not.toBeNull();
      expect(err!.name).toBe('StorageError');
      expect(err!.message).toMatch(/^NFS share nfs:\/\/127\.0\.0\.1:\d+\/export\?version=4\.2: read large\.bin failed: /);
      expect(got).toBeLessThan(48 << 20);
    } finally {
      await target.close();
      await server.restart();
    }
    fs.rmSync(path.join(server.exportDir, 'large.bin'), { force: true });
  });

  it('fails in words when the server dies mid-backup, and publishes nothing', async () => {
    await lib.config.saveStorageConfig(actor, lib.schemas.storageFormSchema.parse({ type: 'nfs', url: server.url('4.1') }));
    const before = new Set(fs.readdirSync(server.exportDir));
    const r = await lib.engine.startBackup('manual', actor);
    for (let i = 0; i < 2000; i++) {
      const now = lib.runs.getBackupRun(r.id)!;
      if (now.phase === 'writing' && (now.bytesDone ?? 0) > 0) break;
      if (now.status !== 'running') break;
      await new Promise((res) => setTimeout(res, 2));
    }
    await server.kill('SIGKILL');
    await lib.engine.waitForBackup(r.id);
    const failed = lib.runs.getBackupRun(r.id)!;
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/NFS share nfs:\/\/127\.0\.0\.1:\d+\/export\?version=4\.1: .* failed: /);
    await server.restart();
    const published = fs.readdirSync(server.exportDir).filter((n) => !before.has(n) && !n.endsWith('.partial'));
    expect(published).toEqual([]);
  });
});
