import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import { ConsoleClient } from '../helpers/http-client';
import { canUseLoopDevices, UsbDriveHarness, type TestDrive } from '../helpers/usb-drives';
import {
  cleanUp,
  clickBackupNow,
  consoleDb,
  createAccountViaApi,
  expectFieldValid,
  expectPageFlash,
  gotoAndHydrate,
  setDmsViaApi,
  signInWithPassword,
  STORAGE_SAVED,
  storageBrowser,
  submitForm,
} from './harness';

/**
 * A USB drive as the backup storage location, in Chromium, on a real drive:
 * a GPT partitioned disk image with an ext4 partition on a loop device (the
 * console is told to count that loop device as a USB drive). Choosing "USB
 * drive" lists it (label, size, free space); its Browse button opens the
 * storage browser on the drive; the admin goes into a folder, filters, goes
 * one level up and back, and Use This Location saves it (the green banner at
 * the top); the stored setting names the drive by its UUID; Backup now writes
 * the backup into that folder on the drive, and its details are read back in
 * the browser. Then the drive is filled to over 80% behind the console's back:
 * the browser's Storage Information warns that less than 20% is free, and once
 * another folder on it is chosen, the status panel and the storage section too.
 */
const DMS = 'usb storage e2e domain master secret';
const LABEL = 'BACKUPS';

describe.skipIf(!canUseLoopDevices)('Backup storage: a USB drive chosen in the browser', () => {
  let usb: UsbDriveHarness;
  let drive: TestDrive;
  let server: ConsoleServer;
  let browser: TestBrowser;
  let page: Page;
  let api: ConsoleClient;
  const admin = { username: 'alice', password: 'alice password 0001' };
  const db = () => consoleDb(server.dataDir);

  const storage = () => page.getByRole('form', { name: 'Backup Storage Settings' });
  const storageType = () => storage().getByLabel('Storage Type');
  const urlField = () => storage().getByRole('textbox', { name: 'USB drive URL', exact: true });
  const drives = () => storage().getByTestId('usb-drive');
  /** The drive's name in the browser's breadcrumbs: its label and UUID. */
  const root = () => `${LABEL} (${drive.uuid})`;

  /** Mounts the drive's partition on a folder of the harness (released by its cleanup even on failure), runs fn, unmounts. */
  function onDrive<T>(fn: (dir: string) => T): T {
    const dir = path.join(usb.dir, 'prep');
    fs.mkdirSync(dir, { recursive: true });
    execFileSync('mount', [drive.partition!, dir]);
    try {
      return fn(dir);
    } finally {
      execFileSync('sync');
      execFileSync('umount', [dir]);
    }
  }

  async function openBackupPage(): Promise<void> {
    await gotoAndHydrate(page, `${server.url}/backup`);
    await page.getByRole('heading', { name: 'Backup', level: 1 }).waitFor();
  }

  async function storedConfig(): Promise<Record<string, unknown>> {
    const res = await api.json<{ config: Record<string, unknown> }>('/api/backup/storage');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.config;
  }

  beforeAll(async () => {
    usb = new UsbDriveHarness();
    drive = usb.create({ label: LABEL, fs: 'ext4', sizeMiB: 64 });
    onDrive((dir) => {
      fs.mkdirSync(path.join(dir, 'appliance', 'weekly'), { recursive: true });
      fs.mkdirSync(path.join(dir, 'photos'));
      fs.writeFileSync(path.join(dir, 'readme.txt'), 'not a backup\n');
    });
    server = await startConsole({ env: { WEBCONF_USB_DEVICES: path.basename(drive.loop!), WEBCONF_USB_MOUNT_ROOT: usb.mountRoot } });
    await createAccountViaApi(server.url, { username: 'otp', password: server.otpPassword! }, { ...admin, role: 'admin' });
    api = new ConsoleClient(server.url);
    expect((await api.signIn(admin.username, admin.password)).ok).toBe(true);
    await setDmsViaApi(api, DMS);
    browser = await launchBrowser();
    page = await (await browser.newContext()).newPage();
    await signInWithPassword(page, server.url, admin.username, admin.password);
  });

  afterAll(() =>
    cleanUp(
      () => browser?.close(),
      () => server?.stop(),
      () => usb?.cleanup(),
      () => server && fs.rmSync(server.dataDir, { recursive: true, force: true }),
    ),
  );

  it('1. choosing "USB drive" shows the usb:// line and lists the attached drive by label, size and free space', async () => {
    expect(await storageType().inputValue()).toBe('none');
    await storageType().selectOption({ label: 'USB drive' });
    await urlField().waitFor();
    expect(await storage().getByTestId('location-prefix').textContent()).toBe('usb://');
    expect(await urlField().inputValue()).toBe('');

    await expect.poll(() => drives().count()).toBe(1);
    const text = ((await drives().first().textContent()) ?? '').replace(/\s+/g, ' ');
    expect(text).toContain(LABEL);
    expect(text).toContain('ext4');
    expect(text).toContain(`UUID ${drive.uuid}`);
    // "ext4 · 66.0 MB · 56.4 MB free": the file system's size (about the 64 MiB = 67.1 MB image) and its free space.
    const m = /ext4 · ([\d.]+) MB · ([\d.]+) MB free/.exec(text);
    expect(m, text).not.toBeNull();
    const [total, free] = [Number(m![1]), Number(m![2])];
    expect(total).toBeGreaterThan(50);
    expect(total).toBeLessThanOrEqual(67.2);
    expect(free).toBeGreaterThan(total * 0.75);
    expect(free).toBeLessThanOrEqual(total);
    expect(await storage().getByTestId('usb-empty').count()).toBe(0);

    // Browse Storage with nothing typed says what to do, at the field.
    await storage().getByRole('button', { name: 'Browse Storage', exact: true }).click();
    await storage().locator('#browse-problem').waitFor();
    expect(await storage().locator('#browse-problem').textContent()).toBe("Enter the drive's label or UUID, or click Browse beside a drive in the list below (attach one first if none is listed).");
    expect(await urlField().getAttribute('aria-describedby')).toContain('browse-problem');
    expect(await page.getByRole('dialog', { name: 'Browse Storage' }).count()).toBe(0);
  });

  it('2. the drive\'s Browse opens it in the storage browser; into a folder, filter, one level up, back in, Use This Location: banner, stored by UUID', async () => {
    await drives().first().getByRole('button', { name: 'Browse', exact: true }).click();
    const b = storageBrowser(page);
    await b.dialog.waitFor();
    await b.shows(`usb://${drive.uuid}/`);
    expect(await b.crumbs()).toEqual([root()]);
    expect(await b.up().isDisabled()).toBe(true);
    const folders = await b.folders().allTextContents();
    expect(folders).toEqual(expect.arrayContaining(['appliance', 'photos']));
    expect((await b.names()).includes('readme.txt')).toBe(true);
    expect(await b.backups().count()).toBe(0);
    expect(await b.dialog.getByTestId('info-permission').textContent()).toBe('read, write');
    expect(await b.dialog.getByTestId('info-total').textContent()).toMatch(/^[\d.]+ MB$/);
    expect(await b.dialog.getByTestId('info-warning').count()).toBe(0);

    await b.filter().fill('pho');
    await expect.poll(() => b.folders().allTextContents()).toEqual(['photos']);
    expect(await b.count().textContent()).toMatch(/^1 of 1 shown \(1 of \d+ match "pho"\)$/);
    await b.filter().fill('');
    await expect.poll(() => b.folders().allTextContents()).toEqual(folders);

    await b.folders().getByText('appliance', { exact: true }).click();
    await b.shows(`usb://${drive.uuid}/appliance`);
    expect(await b.crumbs()).toEqual([root(), 'appliance']);
    expect(await b.folders().allTextContents()).toEqual(['weekly']);
    expect(await b.count().textContent()).toBe('1 of 1 shown');

    await b.up().click();
    await b.shows(`usb://${drive.uuid}/`);
    expect(await b.crumbs()).toEqual([root()]);
    await b.folders().getByText('appliance', { exact: true }).click();
    await b.shows(`usb://${drive.uuid}/appliance`);

    const answered = page.waitForResponse((r) => r.request().method() === 'POST' && 'next-action' in r.request().headers());
    await b.use().click();
    await answered;
    await expectPageFlash(page, STORAGE_SAVED);
    await b.dialog.waitFor({ state: 'hidden' });
    await expectFieldValid(page, 'location');
    expect(await urlField().inputValue()).toBe(`${drive.uuid}/appliance`);

    expect(await storedConfig()).toMatchObject({ type: 'usb', uuid: drive.uuid, path: 'appliance', label: LABEL });
    expect(db().setting('storage')?.value).toMatchObject({ type: 'usb', uuid: drive.uuid, path: 'appliance' });
    expect(db().audit('backup.storage.configure').at(-1)).toMatchObject({ outcome: 'success', actor_name: admin.username });

    // After a reload: USB drive, the stored location, the storage section names the drive.
    await openBackupPage();
    expect(await storageType().inputValue()).toBe('usb');
    expect(await urlField().inputValue()).toBe(`${drive.uuid}/appliance`);
    expect(await page.getByTestId('storage-current').textContent()).toContain(LABEL);
    expect(await page.getByTestId('status-space-warning').count(), 'plenty of space: no warning').toBe(0);
  });

  it('3. Backup now writes the backup into the chosen folder on the drive; its details are read back in the browser', async () => {
    expect(await clickBackupNow(page)).toBe('Backup #1 started.');
    const runs = () =>
      db().query<{ status: string; error: string | null; file_name: string; checksum: string; size_bytes: number }>('select status, error, file_name, checksum, size_bytes from backup_runs');
    await expect.poll(() => runs()[0]?.status, { timeout: 60_000, interval: 250 }).not.toBe('running');
    const [run] = runs();
    expect(run).toMatchObject({ status: 'succeeded', error: null });
    await expect.poll(() => page.getByTestId('last-success').locator('time').count(), { timeout: 15_000 }).toBe(1);
    expect(await page.getByTestId('last-success').textContent()).toContain(run!.file_name);

    const onDisk = onDrive((dir) => {
      const files = fs.readdirSync(path.join(dir, 'appliance')).sort();
      const file = path.join(dir, 'appliance', run!.file_name);
      return { files, size: fs.statSync(file).size, sha: crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex'), rootFiles: fs.readdirSync(dir).sort() };
    });
    expect(onDisk.files).toEqual([run!.file_name, 'weekly'].sort());
    expect(onDisk.size).toBe(run!.size_bytes);
    expect(onDisk.sha).toBe(run!.checksum);
    expect(onDisk.rootFiles.filter((f) => f !== 'lost+found')).toEqual(['appliance', 'photos', 'readme.txt']);
    // The console's mounts of the drive are nosuid,nodev,noexec (if it keeps one open).
    for (const m of usb.mountsUnderRoot()) expect(m.options).toEqual(expect.arrayContaining(['nosuid', 'nodev', 'noexec']));

    await storage().getByRole('button', { name: 'Browse Storage', exact: true }).click();
    const b = storageBrowser(page);
    await b.shows(`usb://${drive.uuid}/appliance`);
    await expect.poll(() => b.backups().count()).toBe(1);
    await b.backups().first().click();
    const details = b.dialog.getByTestId('backup-details');
    await details.waitFor();
    expect(await details.getByTestId('details-file').textContent()).toBe(run!.file_name);
    expect(await details.getByTestId('details-signature').textContent()).toBe("Verified with this appliance's Domain Master Secret");
    expect(await details.locator('#details-checksum').textContent()).toBe(`sha256:${run!.checksum}`);
    await b.dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    await b.dialog.waitFor({ state: 'hidden' });
  });

  it('4. a drive filled to over 80% (under 20% free) shows the free-space warning in the status panel, the storage section and the browser', async () => {
    onDrive((dir) => {
      const st = fs.statfsSync(dir);
      const total = st.blocks * st.bsize;
      const free = st.bavail * st.bsize;
      // Leave about 10% free.
      const fill = Math.floor((free - total * 0.1) / (1 << 20));
      expect(fill).toBeGreaterThan(0);
      const fd = fs.openSync(path.join(dir, 'photos', 'filler.bin'), 'w');
      try {
        const block = Buffer.alloc(1 << 20, 0x5a);
        for (let i = 0; i < fill; i++) fs.writeSync(fd, block);
      } finally {
        fs.closeSync(fd);
      }
      const after = fs.statfsSync(dir);
      expect(after.bavail / after.blocks).toBeLessThan(0.2);
    });

    // The storage browser reads the space afresh: its Storage Information warns at once.
    await openBackupPage();
    await storage().getByRole('button', { name: 'Browse Storage', exact: true }).click();
    const b = storageBrowser(page);
    await b.shows(`usb://${drive.uuid}/appliance`);
    const info = b.dialog.getByTestId('info-warning');
    await info.waitFor();
    expect(await info.textContent()).toMatch(/^Less than 20% of the storage is free: [\d.]+ [kM]B of [\d.]+ MB \([\d.]+%\) remains\./);

    // Another folder on the drive is chosen (the console keeps its check of the stored location for 15 s;
    // a new location is checked at once): the status panel and the storage section warn too.
    await b.up().click();
    await b.shows(`usb://${drive.uuid}/`);
    await b.folders().getByText('photos', { exact: true }).click();
    await b.shows(`usb://${drive.uuid}/photos`);
    await b.dialog.getByTestId('info-warning').waitFor();
    await b.use().click();
    await expectPageFlash(page, STORAGE_SAVED);
    expect(await storedConfig()).toMatchObject({ type: 'usb', uuid: drive.uuid, path: 'photos' });
    for (const id of ['status-space-warning', 'storage-warning']) {
      const w = page.getByTestId(id);
      await w.waitFor();
      expect(await w.textContent(), id).toMatch(/^Less than 20% of the storage is free: [\d.]+ [kM]B of [\d.]+ MB \([\d.]+%\) remains\./);
    }
    // And after a reload.
    await openBackupPage();
    expect(await page.getByTestId('status-space-warning').textContent()).toContain('Less than 20% of the storage is free');
    expect(await page.getByTestId('storage-warning').textContent()).toContain('Less than 20% of the storage is free');
  });
});
