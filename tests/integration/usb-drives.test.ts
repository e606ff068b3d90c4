import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { canUseLoopDevices, removeStaleLoopDevices, UsbDriveHarness, type TestDrive } from '../helpers/usb-drives';

/**
 * USB drives on real loop devices (tests/helpers/usb-drives.ts: GPT images,
 * losetup, partx, mkfs; offered to the console through WEBCONF_USB_DEVICES):
 * discovery with label, size, free space and UUID; mounts under the mount
 * root with nosuid,nodev,noexec; files through UsbTarget; eject; full,
 * non-GPT and unsupported drives with reasons; a pulled drive fails in words
 * and comes back under another loop name; backups by the engine onto ext4
 * and exFAT (FUSE) drives.
 */
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-usb-data-'));
process.env.WEBCONF_DATA_DIR = dataDir;
process.env.WEBCONF_LOG_LEVEL = 'silent';

const DMS = 'usb backup domain master secret';
const actor = { id: 1, name: 'admin', ip: '127.0.0.1' };
let h: UsbDriveHarness;
let ext: TestDrive;
let exf: TestDrive;
let lib: {
  drives: typeof import('@/lib/usb/drives');
  target: typeof import('@/lib/usb/usb-target');
  engine: typeof import('@/lib/backup/engine');
  runs: typeof import('@/lib/backup/runs');
  dms: typeof import('@/lib/backup/dms');
  config: typeof import('@/lib/storage/config');
  verify: typeof import('@/lib/backup/verify-file');
  appliance: typeof import('@/lib/backup/appliance');
};

beforeAll(async () => {
  if (!canUseLoopDevices) return;
  h = new UsbDriveHarness();
  ext = h.create({ fs: 'ext4', label: 'BK EXT', sizeMiB: 96 });
  exf = h.create({ fs: 'exfat', label: 'BK "EX"', sizeMiB: 64 });
  lib = {
    drives: await import('@/lib/usb/drives'),
    target: await import('@/lib/usb/usb-target'),
    engine: await import('@/lib/backup/engine'),
    runs: await import('@/lib/backup/runs'),
    dms: await import('@/lib/backup/dms'),
    config: await import('@/lib/storage/config'),
    verify: await import('@/lib/backup/verify-file'),
    appliance: await import('@/lib/backup/appliance'),
  };
});
afterAll(() => {
  h?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const target = (d: TestDrive, p = '') => new lib.target.UsbTarget({ uuid: d.uuid!, path: p, label: d.spec.label ?? null });
const find = async (d: TestDrive) => (await lib.drives.listUsbDrives({ refresh: true })).partitions.find((p) => p.uuid === d.uuid);
const mountOf = (d: TestDrive) => h.mountsUnderRoot().find((m) => m.mountPoint === path.join(h.mountRoot, d.uuid!));

async function writeThrough(t: InstanceType<typeof lib.target.UsbTarget>, name: string, data: Buffer): Promise<void> {
  const w = await t.create(`.${name}.partial`);
  // Body first, head last, as the backup engine writes.
  await w.writeAt(4096, data.subarray(4096));
  await w.writeAt(0, data.subarray(0, 4096));
  await w.commit();
  await t.rename(`.${name}.partial`, name);
}

async function readAll(t: InstanceType<typeof lib.target.UsbTarget>, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await t.read(name)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe.skipIf(!canUseLoopDevices)('USB drives on loop devices', () => {
  it('finds an ext4 and an exFAT drive with label, size, free space and UUID, and leaves nothing mounted', async () => {
    const list = await lib.drives.listUsbDrives({ refresh: true });
    const e = list.partitions.find((p) => p.uuid === ext.uuid)!;
    const x = list.partitions.find((p) => p.uuid === exf.uuid)!;
    expect(e).toMatchObject({ label: 'BK EXT', fsType: 'ext4', device: ext.partition, supported: true, unsupportedReason: null, hiddenReason: null, mounted: false });
    expect(x).toMatchObject({ label: 'BK "EX"', fsType: 'exfat', device: exf.partition, supported: true, hiddenReason: null, mounted: false });
    expect(e.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-/);
    expect(x.uuid).toMatch(/^[0-9A-F]{4}-[0-9A-F]{4}$/);
    // One partition over the GPT disk: its size (sysfs) is the partition entry's.
    expect(e.sizeBytes).toBe(Number(h.blkid(ext.partition!).PART_ENTRY_SIZE) * 512);
    expect(x.sizeBytes).toBe(Number(h.blkid(exf.partition!).PART_ENTRY_SIZE) * 512);
    expect(e.sizeBytes).toBeGreaterThan(94 << 20);
    expect(list.disks.find((d) => d.device === ext.loop)!.sizeBytes).toBe(96 << 20);
    expect(e.space!.totalBytes).toBeGreaterThan(80 << 20);
    expect(e.space!.freeBytes).toBeGreaterThan(70 << 20);
    expect(x.space!.freeBytes).toBeGreaterThan(50 << 20);
    expect(x.space!.freeBytes).toBeLessThanOrEqual(x.space!.totalBytes);
    expect(list.disks.find((d) => d.device === ext.loop)).toMatchObject({ partitionTable: 'gpt', supported: true });
    // The exFAT free space came from a short read-only mount, already gone.
    expect(h.mountsUnderRoot()).toEqual([]);
    expect(fs.readdirSync(h.mountRoot)).toEqual([]);
  });

  it('keeps the list 3 minutes unless asked to refresh', async () => {
    const a = await lib.drives.listUsbDrives({ refresh: true });
    const b = await lib.drives.listUsbDrives();
    expect(b.checkedAt).toBe(a.checkedAt);
    const spare = h.create({ fs: 'ext4', label: 'LATE' });
    expect((await lib.drives.listUsbDrives()).partitions.some((p) => p.label === 'LATE')).toBe(false);
    const c = await lib.drives.listUsbDrives({ refresh: true });
    expect(c.checkedAt.getTime()).toBeGreaterThanOrEqual(a.checkedAt.getTime());
    expect(c.partitions.some((p) => p.uuid === spare.uuid && p.label === 'LATE')).toBe(true);
  });

  for (const which of ['ext4', 'exfat'] as const) {
    it(`${which}: mounts on demand under the mount root with nosuid,nodev,noexec, writes a file that reads back identical, and unmounts on close`, async () => {
      const d = which === 'ext4' ? ext : exf;
      const t = target(d);
      try {
        await t.list();
        const m = mountOf(d)!;
        expect(m).toBeDefined();
        expect(m.source).toBe(d.partition);
        expect(m.options).toEqual(expect.arrayContaining(['rw', 'nosuid', 'nodev', 'noexec']));
        expect(m.fsType).toBe(which === 'ext4' ? 'ext4' : 'fuseblk');
        expect(t.label).toBe(`USB drive ${d.spec.label} (${d.uuid})`);

        const data = crypto.randomBytes((3 << 20) + 123);
        await writeThrough(t, 'file.bin', data);
        expect((await t.list()).map((e) => e.name)).toContain('file.bin');
        expect((await t.list()).some((e) => e.name.endsWith('.partial'))).toBe(false);
        expect((await readAll(t, 'file.bin')).equals(data)).toBe(true);
        expect(fs.readFileSync(t.localPath('file.bin')).equals(data)).toBe(true);
        expect(await t.stat('file.bin')).toMatchObject({ type: 'file', size: data.length });
        await expect(t.rename('file.bin', 'file.bin')).rejects.toThrow(/already exists/);
        expect(await t.access()).toEqual({ read: true, write: true });
        const space = await t.space();
        expect(space.freeBytes).toBeGreaterThan(40 << 20);
        await t.remove('file.bin');
        expect(await t.stat('file.bin')).toBeNull();
      } finally {
        await t.close();
      }
      expect(mountOf(d)).toBeUndefined();
    });
  }

  it('two users share one mount: the first close does not unmount under the second', async () => {
    const a = target(ext);
    const b = target(ext);
    await a.list();
    await b.list();
    await a.close();
    expect(mountOf(ext)).toBeDefined();
    expect(await b.stat('lost+found')).toMatchObject({ type: 'directory' });
    await b.close();
    expect(mountOf(ext)).toBeUndefined();
  });

  it('eject refuses while a file is being written, then unmounts cleanly', async () => {
    const t = target(ext);
    try {
      const w = await t.create('.busy.partial');
      await w.writeAt(0, Buffer.alloc(8192, 1));
      await expect(lib.drives.ejectUsbDrive(ext.uuid!)).rejects.toThrow(/A backup is being written to the USB drive .*; eject it when the backup has finished\./);
      expect(mountOf(ext)).toBeDefined();
      await w.abort();
      await expect(lib.drives.ejectUsbDrive(ext.uuid!, { busy: () => 'a verify is reading from it' })).rejects.toThrow(/cannot be ejected now: a verify is reading from it/);
      const r = await lib.drives.ejectUsbDrive(ext.uuid!);
      expect(r.unmounted).toBe(true);
      expect(mountOf(ext)).toBeUndefined();
      expect((await lib.drives.ejectUsbDrive(ext.uuid!)).unmounted).toBe(false);
      await expect(lib.drives.ejectUsbDrive('../../etc')).rejects.toThrow(/is not a file system UUID/);
    } finally {
      await t.close();
    }
  });

  it('eject of a busy file system says so and leaves it mounted (never a lazy unmount)', async () => {
    const t = target(ext);
    try {
      await t.list();
      const fd = fs.openSync(path.join(h.mountRoot, ext.uuid!, 'lost+found'), 'r');
      try {
        await expect(lib.drives.ejectUsbDrive(ext.uuid!)).rejects.toThrow(/is busy \(a file or folder on it is still open\); it stays mounted/);
        expect(mountOf(ext)).toBeDefined();
      } finally {
        fs.closeSync(fd);
      }
    } finally {
      await t.close();
    }
    expect(mountOf(ext)).toBeUndefined();
  });

  it('a full drive is listed but hidden, with the reason', async () => {
    const full = h.create({ fs: 'ext4', label: 'FULL', sizeMiB: 24 });
    const fullEx = h.create({ fs: 'exfat', label: 'FULLEX', sizeMiB: 24 });
    h.fill(full);
    h.fill(fullEx);
    for (const d of [full, fullEx]) {
      const p = (await find(d))!;
      expect(p.supported).toBe(true);
      expect(p.space!.freeBytes).toBeLessThan(1 << 20);
      expect(p.hiddenReason).toMatch(/^The drive is full: \d+(\.\d)? (bytes?|KB) free$/);
    }
    expect((await lib.drives.findUsbPartition('FULL')).hiddenReason).toMatch(/^The drive is full/);
    expect((await find(ext))!.hiddenReason).toBeNull();
  });

  it('a drive that is not GPT partitioned, one with an unsupported file system and one with none are listed with reasons', async () => {
    const mbr = h.create({ fs: 'ext4', label: 'MBR', table: 'dos' });
    const old = h.create({ fs: 'ext3', label: 'OLD' });
    const blank = h.create({ fs: 'none' });
    const list = await lib.drives.listUsbDrives({ refresh: true });
    expect(list.disks.find((d) => d.device === mbr.loop)).toMatchObject({ partitionTable: 'dos', supported: false, unsupportedReason: 'not GPT partitioned (it has an MBR (DOS) partition table)' });
    expect(list.partitions.find((p) => p.device === mbr.partition)).toMatchObject({ supported: false, unsupportedReason: 'the drive is not GPT partitioned', space: null });
    expect(list.partitions.find((p) => p.device === old.partition)).toMatchObject({ fsType: 'ext3', label: 'OLD', supported: false, unsupportedReason: 'ext3 is not supported (use ext4 or exFAT)' });
    expect(list.partitions.find((p) => p.device === blank.partition)).toMatchObject({ uuid: null, fsType: null, supported: false, unsupportedReason: 'it holds no file system (format it with ext4 or exFAT)' });
    await expect(lib.drives.findUsbPartition('OLD')).rejects.toThrow('USB drive OLD (' + old.uuid + ') cannot hold backups: ext3 is not supported (use ext4 or exFAT).');
    await expect(lib.drives.findUsbPartition('MBR')).rejects.toThrow(/cannot hold backups: the drive is not GPT partitioned/);
    await expect(lib.drives.findUsbPartition('NOWHERE')).rejects.toThrow('No USB drive with the label or UUID NOWHERE is attached.');
    await expect(target(old).list()).rejects.toThrow(/cannot hold backups: ext3 is not supported/);
    expect(h.mountsUnderRoot()).toEqual([]);
  });

  it('a label on two drives is an error in words; the UUID tells them apart', async () => {
    const a = h.create({ fs: 'ext4', label: 'TWIN' });
    const b = h.create({ fs: 'exfat', label: 'TWIN' });
    await expect(lib.drives.findUsbPartition('TWIN')).rejects.toThrow(`2 attached USB drives are labelled TWIN (${a.uuid}, ${b.uuid}); choose one by its UUID.`);
    expect((await lib.drives.findUsbPartition(b.uuid!.toLowerCase())).uuid).toBe(b.uuid);
  });

  it('a detached drive fails in words and takes no write; re-attached under another loop name it works again', async () => {
    const t = target(ext, 'keep');
    const keep = crypto.randomBytes(1 << 20);
    try {
      await t.list('').catch(() => undefined);
      fs.mkdirSync(t.localPath(''), { recursive: true });
      await writeThrough(t, 'kept.bin', keep);
      await lib.drives.ejectUsbDrive(ext.uuid!);
      const before = ext.loop;
      h.detach(ext);
      const reason = `the USB drive BK EXT (${ext.uuid}) is not attached`;
      await expect(t.access()).rejects.toThrow(reason);
      await expect(t.create('.new.partial')).rejects.toThrow(reason);
      await expect(t.rename('kept.bin', 'other.bin')).rejects.toThrow(reason);
      expect(fs.existsSync(path.join(h.mountRoot, ext.uuid!))).toBe(false);
      expect((await find(ext))).toBeUndefined();

      const spacer = h.create({ fs: 'none', sizeMiB: 8 }); // takes the free loop name, so the drive comes back under another
      h.attach(ext);
      expect(ext.loop).not.toBe(before);
      expect(spacer.loop).toBe(before);
      expect(await t.access()).toEqual({ read: true, write: true });
      expect((await t.list()).map((e) => e.name)).toEqual(['kept.bin']);
      expect((await readAll(t, 'kept.bin')).equals(keep)).toBe(true);
      expect(mountOf(ext)!.source).toBe(ext.partition);
    } finally {
      await t.close();
    }
  });

  it('a drive pulled while mounted: the stale mount is unmounted before it is reported unavailable, and a write in flight publishes nothing', async () => {
    const t = target(ext, 'keep');
    try {
      const w = await t.create('.pulled.partial');
      await w.writeAt(0, crypto.randomBytes(1 << 20));
      expect(mountOf(ext)).toBeDefined();
      // The device vanishes from discovery (as a pulled USB disk leaves sysfs) while its mount stays.
      process.env.WEBCONF_USB_DEVICES = h.drives.filter((d) => d.loop && d !== ext).map((d) => path.basename(d.loop!)).join(',');
      // The writer still holds a file open on the stale mount: it cannot be unmounted, and is not lazily.
      await expect(t.rename('.pulled.partial', 'pulled.bin')).rejects.toThrow(`USB drive BK EXT (${ext.uuid}) was pulled out while in use and its old mount is still busy; close what uses it and try again`);
      expect(mountOf(ext)).toBeDefined();
      await w.abort();
      await expect(t.stat('pulled.bin')).rejects.toThrow(`the USB drive BK EXT (${ext.uuid}) is not attached`);
      expect(mountOf(ext)).toBeUndefined();
      h.updateEnv();
      expect((await t.list()).map((e) => e.name)).toEqual(['kept.bin']);
    } finally {
      h.updateEnv();
      await t.close();
    }
  });

  it('the harness cleans up after a killed run (its loop device and mount) and leaves live harnesses alone', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-usb-drives-'));
    const dead = spawnSync('true').pid!; // a pid that has exited
    fs.writeFileSync(path.join(dir, 'owner.pid'), String(dead));
    const image = path.join(dir, 'left.img');
    execFileSync('truncate', ['-s', '16M', image]);
    const loop = execFileSync('losetup', ['-f', '--show', image], { encoding: 'utf8' }).trim();
    execFileSync('mkfs.ext4', ['-q', '-F', loop]);
    fs.mkdirSync(path.join(dir, 'mnt'));
    execFileSync('mount', [loop, path.join(dir, 'mnt')]);
    expect(removeStaleLoopDevices()).toEqual([dir]);
    expect(fs.existsSync(dir)).toBe(false);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dir);
    expect(execFileSync('losetup', ['-l', '-n', '-O', 'BACK-FILE'], { encoding: 'utf8' })).not.toContain(image);
    expect(fs.existsSync(h.dir)).toBe(true);
    expect(fs.existsSync(dataDir)).toBe(true);
    expect(fs.existsSync(ext.image)).toBe(true);
  });

  describe('backups by the engine', () => {
    const files: Record<string, Buffer> = {};
    beforeAll(async () => {
      const write = (rel: string, data: Buffer) => {
        const abs = path.join(lib.appliance.applianceRoot(), rel);
        fs.mkdirSync(path.dirname(abs), { recursive: true });
        fs.writeFileSync(abs, data);
        files[rel] = data;
      };
      write('firmware/version.json', Buffer.from('{"firmware":"2.0.0"}'));
      write('system/cluster/state.bin', crypto.randomBytes(6 << 20));
      await lib.dms.setDms(actor, DMS);
    });

    for (const which of ['ext4', 'exfat'] as const) {
      it(`writes, reads back and publishes a backup on the ${which} drive, which opens with only the DMS`, async () => {
        const d = which === 'ext4' ? ext : exf;
        const prep = target(d);
        await prep.list();
        fs.mkdirSync(prep.localPath('backups'), { recursive: true });
        await prep.close();

        const saved = await lib.config.saveStorageConfig(actor, { type: 'usb', url: `usb://${encodeURIComponent(d.spec.label!)}/backups` });
        expect(saved).toMatchObject({ type: 'usb', uuid: d.uuid, path: 'backups' });
        const r = await lib.engine.startBackup('manual', actor);
        await lib.engine.waitForBackup(r.id);
        const done = lib.runs.getBackupRun(r.id)!;
        expect(done.error).toBeNull();
        expect(done.status).toBe('succeeded');

        const t = target(d, 'backups');
        try {
          const names = (await t.list()).map((e) => e.name);
          expect(names).toContain(done.fileName);
          expect(names.filter((n) => n.endsWith('.partial'))).toEqual([]);
          const stored = await readAll(t, done.fileName!);
          expect(stored.length).toBe(done.sizeBytes);
          expect(crypto.createHash('sha256').update(stored).digest('hex')).toBe(done.checksum);
          const verified = await lib.verify.verifyBackupFile(t, done.fileName!, DMS);
          expect(verified.signatureVerified).toBe(true);
          expect(verified.checksum).toBe(done.checksum);
        } finally {
          await t.close();
        }
        // Every user closed: nothing of ours stays mounted.
        expect(mountOf(d)).toBeUndefined();
      });
    }

    it('a backup to a drive that is not attached is refused in words and writes nothing', async () => {
      await lib.config.saveStorageConfig(actor, { type: 'usb', url: `usb://${encodeURIComponent(exf.spec.label!)}/backups` });
      h.detach(exf);
      try {
        // The engine checks the location before it starts: the run is refused in words.
        await expect(lib.engine.startBackup('manual', actor)).rejects.toThrow(`the USB drive BK "EX" (${exf.uuid}) is not attached`);
      } finally {
        h.attach(exf);
      }
      const t = target(exf, 'backups');
      try {
        const names = (await t.list()).map((e) => e.name);
        expect(names.filter((n) => n.endsWith('.partial'))).toEqual([]);
        expect(names).toHaveLength(1); // the earlier backup only
      } finally {
        await t.close();
      }
    });
  });
});
