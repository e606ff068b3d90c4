import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import { ConsoleClient } from '../helpers/http-client';
import { childUrl } from '@/lib/storage/child-url';
import { canUseLoopDevices, UsbDriveHarness, type TestDrive } from '../helpers/usb-drives';

/**
 * USB drives through the built console, on real block devices (GPT disk
 * images on loop devices, ext4 and exFAT; tests/helpers/usb-drives.ts):
 * the console finds them itself (no udev), lists them by label, size and
 * free space and hides a full one with the reason, mounts and browses each,
 * takes it as the backup location (probe file), writes a backup to it,
 * shows its details, ejects it; a configured drive that is detached is
 * reported unavailable, a backup then fails with the reason and leaves
 * nothing, and the same drive attached again works again. A drive nearly
 * full shows the free-space warning; a backup larger than the free space
 * fails before writing. Every escape from a location, sent through the
 * API, is refused.
 */
const DMS = 'usb console domain master secret';
let h: UsbDriveHarness;
let ext: TestDrive;
let exf: TestDrive;
let full: TestDrive;
let tight: TestDrive;
let server: ConsoleServer;
let api: ConsoleClient;
let support: ConsoleClient;
const localRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-local-root-'));

type Status = { blocker: string | null; scheduleDisabledReason: string | null; storage: { warning: string | null } };
type Run = { id: number; status: string; fileName: string | null; error: string | null };

async function waitForRun(id: number): Promise<Run> {
  for (let i = 0; i < 900; i++) {
    const r = await api.json<{ run: Run }>(`/api/backups/${id}`);
    if (r.body.run.status !== 'running') return r.body.run;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`backup #${id} did not end`);
}

async function backup(): Promise<{ status: number; run?: Run; message?: string }> {
  const r = await api.json<{ run: Run; error?: { message: string } }>('/api/backups', 'POST', {});
  if (r.status !== 202) return { status: r.status, message: r.body.error?.message };
  return { status: 202, run: await waitForRun(r.body.run.id) };
}

const browse = (c: ConsoleClient, url: string, extra: Record<string, string> = {}) =>
  c.json<{ childUrlPrefix: string; childUrlSuffix: string; entries: { name: string; type: string; isBackup: boolean }[]; total: number; info: { access: { write: boolean }; spaceWarning: string | null } | null; error?: { message: string } }>(
    `/api/storage/browse?${new URLSearchParams({ url, ...extra })}`,
  );

const mountsOf = (uuid: string) => h.mountsUnderRoot().filter((m) => m.mountPoint.endsWith(`/${uuid}`));
const filesOn = (d: TestDrive): string[] => {
  let names: string[] = [];
  h.withMounted(d, (dir) => (names = fs.readdirSync(path.join(dir, 'backups'))));
  return names;
};

beforeAll(async () => {
  if (!canUseLoopDevices) throw new Error('These tests need root, losetup, partx, sgdisk, mkfs.ext4 and mkfs.exfat.');
  h = new UsbDriveHarness();
  ext = h.create({ label: 'SITEA', fs: 'ext4', sizeMiB: 64 });
  exf = h.create({ label: 'SITEB', fs: 'exfat', sizeMiB: 64 });
  full = h.create({ label: 'FULLDRIVE', fs: 'ext4', sizeMiB: 16 });
  h.fill(full);
  tight = h.create({ label: 'TIGHT', fs: 'ext4', sizeMiB: 24 });
  h.fill(tight, 2 << 20); // ~2 MiB left of ~22: under 20% free
  for (const d of [ext, exf, tight]) h.withMounted(d, (dir) => fs.mkdirSync(path.join(dir, 'backups')));
  h.withMounted(ext, (dir) => fs.symlinkSync('/etc', path.join(dir, 'to-etc')));
  fs.symlinkSync('/etc', path.join(localRoot, 'to-etc'));
  fs.mkdirSync(path.join(localRoot, 'ok'));
  server = await startConsole({
    env: {
      // Every loop device counts as a USB drive: a drive attached again may come back under another name.
      WEBCONF_USB_DEVICES: 'loop*',
      WEBCONF_USB_MOUNT_ROOT: h.mountRoot,
      WEBCONF_LOCAL_STORAGE_ROOT: localRoot,
    },
  });
  const otp = new ConsoleClient(server.url);
  expect((await otp.signIn('otp', server.otpPassword!)).ok).toBe(true);
  for (const [username, role] of [['alice', 'admin'], ['sam', 'support']] as const) {
    const password = `${username} password 0001`;
    expect((await otp.json('/api/users', 'POST', { username, password, confirmPassword: password, role })).status).toBe(200);
  }
  api = new ConsoleClient(server.url);
  expect((await api.signIn('alice', 'alice password 0001')).ok).toBe(true);
  support = new ConsoleClient(server.url);
  expect((await support.signIn('sam', 'sam password 0001')).ok).toBe(true);
  expect((await api.json('/api/backup/dms', 'PUT', { dms: DMS, dmsRepeat: DMS })).status).toBe(200);
}, 180_000);

afterAll(async () => {
  if (process.env.DEBUG_CONSOLE) console.log(server?.output().split('\n').filter((l) => l.includes('"level":50')).join('\n'));
  await server?.stop();
  h?.cleanup();
  fs.rmSync(localRoot, { recursive: true, force: true });
});

describe('USB drives through the console', () => {
  it('finds the drives itself: label, size and free space; the full drive is not offered, with the reason', async () => {
    const r = await api.json<{ drives: { uuid: string; label: string; fsType: string; sizeBytes: number; freeBytes: number }[]; hidden: { name: string; reason: string }[] }>('/api/storage/usb?refresh=1');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const byLabel = new Map(r.body.drives.map((d) => [d.label, d]));
    expect(byLabel.get('SITEA')).toMatchObject({ uuid: ext.uuid, fsType: 'ext4' });
    expect(byLabel.get('SITEB')).toMatchObject({ uuid: exf.uuid, fsType: 'exfat' });
    expect(byLabel.get('SITEA')!.sizeBytes).toBeGreaterThan(60 << 20);
    expect(byLabel.get('SITEA')!.freeBytes).toBeGreaterThan(40 << 20);
    expect(byLabel.has('FULLDRIVE')).toBe(false);
    expect(r.body.hidden.find((x) => x.name === 'FULLDRIVE')?.reason).toMatch(/full/i);
  });

  it.each([
    ['ext4', () => ext, 'SITEA'],
    ['exFAT', () => exf, 'SITEB'],
  ])('%s: mounts and browses, takes it as the location, writes a backup, shows it and its details, ejects it', async (_fs, drive, label) => {
    const d = drive();
    const root = await browse(api, `usb://${label}/`);
    expect(root.status, JSON.stringify(root.body)).toBe(200);
    expect(root.body.entries.map((e) => e.name)).toContain('backups');
    expect(root.body.info!.access.write).toBe(true);
    const m = mountsOf(d.uuid!);
    expect(m).toHaveLength(1);
    expect(m[0]!.options).toEqual(expect.arrayContaining(['nosuid', 'nodev', 'noexec']));

    const saved = await api.json<{ message: string; error?: unknown }>('/api/backup/storage', 'PUT', { type: 'usb', url: `usb://${label}/backups` });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    const config = await api.json<{ config: { type: string; uuid: string; path: string } }>('/api/backup/storage');
    expect(config.body.config).toMatchObject({ type: 'usb', uuid: d.uuid, path: 'backups' });

    const b = await backup();
    expect(b.run?.status, b.run?.error ?? b.message).toBe('succeeded');
    const listed = await browse(support, `usb://${d.uuid}/backups`);
    const entry = listed.body.entries.find((e) => e.name === b.run!.fileName)!;
    expect(entry.isBackup).toBe(true);
    expect(listed.body.entries.filter((e) => e.name.startsWith('.'))).toEqual([]);
    const details = await support.json<{ details: { fileName: string; dms: string; signature: string; checksum: string } }>(`/api/storage/details?${new URLSearchParams({ url: childUrl(listed.body, entry.name) })}`);
    expect(details.status, JSON.stringify(details.body)).toBe(200);
    expect(details.body.details).toMatchObject({ fileName: b.run!.fileName, dms: 'this', signature: 'verified' });
    expect(details.body.details.checksum).toMatch(/^[0-9a-f]{64}$/);

    // Support may browse and read details, never save or eject.
    expect((await support.json('/api/backup/storage', 'PUT', { type: 'usb', url: `usb://${label}/` })).status).toBe(403);
    expect((await support.json(`/api/storage/usb/${d.uuid}/eject`, 'POST', {})).status).toBe(403);

    const ej = await api.json<{ unmounted: boolean; message: string }>(`/api/storage/usb/${d.uuid}/eject`, 'POST', {});
    expect(ej.status, JSON.stringify(ej.body)).toBe(200);
    expect(mountsOf(d.uuid!)).toHaveLength(0);
    expect(filesOn(d)).toEqual([b.run!.fileName]);
  });

  it('an ejected drive stays unmounted while the Backup page polls its status, and still counts as attached', async () => {
    expect((await api.json('/api/backup/storage', 'PUT', { type: 'usb', url: 'usb://SITEA/backups' })).status).toBe(200);
    const ej = await api.json<{ unmounted: boolean }>(`/api/storage/usb/${ext.uuid}/eject`, 'POST', {});
    expect(ej.status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const st = await api.json<Status & { storage: { freeBytes: number | null } }>('/api/backup/status');
      expect(st.body.blocker).toBeNull();
      expect(st.body.storage.freeBytes).toBeGreaterThan(0); // ext4: from the superblock, no mount
    }
    expect(mountsOf(ext.uuid!)).toHaveLength(0);
  });

  it('a folder on the drive that is a link out of it is refused as the location, and nothing is written outside', async () => {
    const before = fs.readdirSync('/etc').length;
    const r = await api.json<{ error: { message: string; fields?: Record<string, string[]> } }>('/api/backup/storage', 'PUT', { type: 'usb', url: 'usb://SITEA/to-etc' });
    expect(r.status, JSON.stringify(r.body)).toBe(422);
    expect(JSON.stringify(r.body)).toMatch(/outside the drive|symbolic link|not a folder/);
    expect(fs.readdirSync('/etc').filter((n) => n.startsWith('.webconf-probe'))).toEqual([]);
    expect(fs.readdirSync('/etc')).toHaveLength(before);
    await api.json(`/api/storage/usb/${ext.uuid}/eject`, 'POST', {});
  });

  it('a configured drive that is detached is unavailable (status, backup refused with the reason, nothing written); attached again it works again', async () => {
    expect((await api.json('/api/backup/storage', 'PUT', { type: 'usb', url: 'usb://SITEA/backups' })).status).toBe(200);
    const before = filesOn(ext);
    await api.json(`/api/storage/usb/${ext.uuid}/eject`, 'POST', {});
    const oldLoop = ext.loop;
    h.detach(ext);

    const refused = await backup();
    expect(refused.status).toBe(409);
    expect(refused.message).toMatch(/not attached/);
    // The status panel says so too (its storage check is kept 15 s: wait for a fresh one).
    await expect
      .poll(async () => (await api.json<Status>('/api/backup/status')).body.scheduleDisabledReason, { timeout: 20_000, interval: 500 })
      .toMatch(/SITEA.*not attached/);

    // Another loop device takes the old name meanwhile, so the drive comes back under another one.
    const other = h.create({ label: 'OTHER', fs: 'ext4', sizeMiB: 16 });
    h.attach(ext);
    expect(ext.loop).not.toBe(oldLoop);
    expect(other.loop).toBe(oldLoop);
    const again = await backup();
    expect(again.run?.status, again.run?.error ?? again.message).toBe('succeeded');
    await api.json(`/api/storage/usb/${ext.uuid}/eject`, 'POST', {});
    const after = filesOn(ext);
    expect(after.sort()).toEqual([...before, again.run!.fileName!].sort());
    expect(after.filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('a drive under 20% free shows the warning; a backup larger than the free space fails at once with the reason and leaves nothing', async () => {
    const saved = await api.json('/api/backup/storage', 'PUT', { type: 'usb', url: 'usb://TIGHT/backups' });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    const info = await browse(api, 'usb://TIGHT/backups');
    expect(info.body.info!.spaceWarning).toMatch(/Less than 20% of the storage is free/);
    await expect
      .poll(async () => (await api.json<Status>('/api/backup/status')).body.storage.warning, { timeout: 20_000, interval: 500 })
      .toMatch(/20%|less than the next backup needs/);
    // Configuration larger than what is left on the drive.
    const big = path.join(server.dataDir, 'appliance', 'system', 'big.bin');
    fs.mkdirSync(path.dirname(big), { recursive: true });
    fs.writeFileSync(big, Buffer.alloc(4 << 20, 1));
    try {
      const b = await backup();
      expect(b.run?.status).toBe('failed');
      expect(b.run?.error).toMatch(/Not enough free space on USB drive TIGHT .*needs about .* is free/);
      await api.json(`/api/storage/usb/${tight.uuid}/eject`, 'POST', {});
      expect(filesOn(tight)).toEqual([]);
    } finally {
      fs.rmSync(big);
    }
  });
});

describe('storage browser: every escape through the API is refused', () => {
  it.each([
    'usb://SITEA/../../etc',
    'usb://SITEA/%2e%2e/%2e%2e/etc',
    'usb://SITEA/%252e%252e/etc',
    'usb://SITEA/%25252e%25252e/etc',
    'usb://SITEA/a%2F..%2F..%2Fetc',
    'usb://SITEA/a%5C..%5Cetc',
    'usb://SITEA/a%00b',
    'usb://..%2F..%2Fetc',
    'nfs://127.0.0.1/export/../etc?version=4.1',
    'nfs://127.0.0.1/export/%2e%2e/etc?version=4.1',
    'nfs://127.0.0.1/export/%252e%252e/etc?version=4.1',
    'nfs://127.0.0.1/export/a%2F..%2F..?version=4.1',
    'nfs://127.0.0.1/export/a%00b?version=4.1',
    'file:///etc',
    'file:///',
    `file://${localRoot}/../etc`,
    `file://${localRoot}/%2e%2e/etc`,
    `file://${localRoot}/ok/%252e%252e/%252e%252e/etc`,
    `file://${localRoot}/a%00b`,
    '/etc',
    '../etc',
  ])('%s', async (url) => {
    for (const who of [api, support]) {
      const r = await browse(who, url);
      expect([400, 403, 404, 422], JSON.stringify(r.body)).toContain(r.status);
      expect(r.body.error?.message).toBeTruthy();
      expect(JSON.stringify(r.body)).not.toMatch(/passwd|shadow|hostname/);
    }
    const d = await api.json<{ error?: { message: string } }>(`/api/storage/details?${new URLSearchParams({ url: `${url.split('?')[0]}/x.tar.age` })}`);
    expect([400, 403, 404, 409, 422]).toContain(d.status);
  });

  it('a symbolic link that points outside is refused, on a USB drive and in a local folder', async () => {
    // On the drive the kernel itself refuses to follow the link (ext4 mounted nosymfollow); locally the real path is outside.
    const usb = await browse(api, 'usb://SITEA/to-etc');
    expect(usb.status, JSON.stringify(usb.body)).toBe(422);
    expect(usb.body.error!.message).toMatch(/a symbolic link is in the way/);
    const local = await browse(api, `file://${localRoot}/to-etc`);
    expect(local.status, JSON.stringify(local.body)).toBe(403);
    expect(local.body.error!.message).toMatch(/leads outside the storage location/);
    for (const r of [usb, local]) expect(JSON.stringify(r.body)).not.toMatch(/passwd/);
    expect((await browse(api, `file://${localRoot}/ok`)).status).toBe(200);
  });
});
