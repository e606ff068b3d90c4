import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Page, Response, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import { ConsoleClient } from '../helpers/http-client';
import { startNfsServer, type NfsServer } from '../helpers/nfs-server';
import { NfsShare } from '@/lib/nfs/nfs-share';
import {
  cleanUp,
  clickBackupNow,
  consoleDb,
  createAccountViaApi,
  expectFieldError,
  expectFieldValid,
  expectPageFlash,
  gotoAndHydrate,
  STORAGE_SAVED,
  storageBrowser,
  signInWithPassword,
  submitForm,
} from './harness';

/**
 * An NFS share as the backup storage location, chosen in Chromium as an admin
 * would, against a real NFS server (nfs-ganesha on loopback): the NFS URL
 * line appears with the Storage Type (a fixed nfs:// prefix, a field for the
 * rest); an empty address, one without a server, an NFS version the console
 * does not speak, a share the server does not have and a read-only share are
 * each refused with words tied to the field, and nothing is stored; the real
 * export is accepted (the green banner at the top of the page), kept (in one
 * spelling) across a reload, and "Backup now" writes a backup file onto it.
 * Then the storage browser: the backup's details read from the share (and
 * from the Backup History row), and a folder picked by browsing from the
 * typed server name down into the export, saved with Use This Location.
 */
const DMS = 'nfs storage e2e domain master secret';
const NFS_LABEL = 'Network File Setting (NFS)';
/** What the field beside the fixed nfs:// prefix holds for a URL. */
const rest = (url: string) => url.replace(/^nfs:\/\//, '');

/** A folder made through the NFS server by another client (ganesha sees it; the folder's modification time moves). */
async function addFolderAsAnotherClient(url: string, name: string): Promise<void> {
  const peer = await NfsShare.open(url);
  try {
    await peer.mkdir(name);
  } finally {
    await peer.close();
  }
}

/**
 * Holds the browser's fresh first-page readings (asked without kept) until
 * release(), so that the kept listing shown meanwhile can be looked at;
 * stop() releases them and removes the route.
 */
async function holdFreshReadings(page: Page): Promise<{ release: () => void; stop: () => Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const hold = async (route: Route) => {
    const u = new URL(route.request().url());
    if (!u.searchParams.has('kept') && !u.searchParams.has('cursor')) await released;
    await route.continue();
  };
  await page.route('**/api/storage/browse?*', hold);
  return {
    release,
    stop: async () => {
      release();
      await page.unroute('**/api/storage/browse?*', hold);
    },
  };
}

describe('Backup storage: an NFS share chosen in the browser', () => {
  let nfs: NfsServer;
  let server: ConsoleServer;
  let browser: TestBrowser;
  let page: Page;
  /** The admin's API session, to read the stored setting as the console reports it. */
  let api: ConsoleClient;
  const admin = { username: 'alice', password: 'alice password 0001' };
  const db = () => consoleDb(server.dataDir);

  const storage = () => page.getByRole('form', { name: 'Backup Storage Settings' });
  const storageType = () => storage().getByLabel('Storage Type');
  const urlField = () => storage().getByRole('textbox', { name: 'NFS URL', exact: true });
  const panel = () => page.getByRole('table', { name: 'Backup Status Information' });

  async function openBackupPage(): Promise<void> {
    await gotoAndHydrate(page, `${server.url}/backup`);
    await page.getByRole('heading', { name: 'Backup', level: 1 }).waitFor();
  }

  async function storedConfig(): Promise<unknown> {
    const res = await api.json<{ config: unknown }>('/api/backup/storage');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.config;
  }

  /** Types the rest of an NFS URL (after nfs://) into the field and submits the form; the page is not reloaded in between. */
  async function submitUrl(url: string): Promise<void> {
    await urlField().fill(rest(url));
    await submitForm(page, 'Save Storage Settings');
  }

  /** After a refused URL: the form is as the admin left it (NFS chosen, the rest typed), nothing is stored. */
  async function expectRefusedAsLeft(typed: string): Promise<void> {
    expect(await storageType().inputValue(), 'the Storage Type still shows NFS').toBe('nfs');
    expect(await urlField().inputValue()).toBe(typed);
    expect(await page.getByTestId('page-flash').count(), 'no green banner').toBe(0);
    expect(await page.getByText(STORAGE_SAVED).count()).toBe(0);
    expect(await storedConfig()).toEqual({ type: 'none' });
    expect(db().setting('storage')).toBeUndefined();
  }

  beforeAll(async () => {
    nfs = await startNfsServer();
    server = await startConsole();
    await createAccountViaApi(server.url, { username: 'otp', password: server.otpPassword! }, { ...admin, role: 'admin' });
    api = new ConsoleClient(server.url);
    expect((await api.signIn(admin.username, admin.password)).ok).toBe(true);
    browser = await launchBrowser();
    page = await (await browser.newContext()).newPage();
    await signInWithPassword(page, server.url, admin.username, admin.password);
  });

  afterAll(() =>
    cleanUp(
      () => browser?.close(),
      () => server?.stop(),
      () => server && fs.rmSync(server.dataDir, { recursive: true, force: true }),
      () => nfs?.stop(),
    ),
  );

  it('0. sets the Domain Master Secret, so that the storage location is the only thing missing', async () => {
    // As a person types: the status panel has polled once already, its next poll is seconds away.
    await openBackupPage();
    await page.waitForResponse((r) => r.url().endsWith('/api/backup/status'));
    await page.getByRole('button', { name: 'Set Domain Master Secret', exact: true }).click();
    const form = page.getByRole('form', { name: 'Set Domain Master Secret' });
    await form.locator('input[name="dms"]').fill(DMS);
    await form.locator('input[name="dmsRepeat"]').fill(DMS);
    const answered = page.waitForResponse((r) => r.request().method() === 'POST' && 'next-action' in r.request().headers());
    await form.getByRole('button', { name: 'Set Domain Master Secret', exact: true }).click();
    await answered;
    await page.getByText('DOMAIN MASTER SECRET IS SET.', { exact: true }).waitFor();
    // Without a reload, the status panel says at once what is missing now (it used to repeat "Set the Domain
    // Master Secret first." until its next poll, up to 5 s later).
    await expect
      .poll(() => panel().getByTestId('schedule-disabled-reason').textContent(), { timeout: 1500, interval: 100 })
      .toBe('Choose a backup storage location first.');
    await openBackupPage();
    await expect.poll(() => panel().getByTestId('schedule-disabled-reason').textContent()).toBe('Choose a backup storage location first.');
    expect(await storedConfig()).toEqual({ type: 'none' });
  });

  it('1. choosing NFS shows the NFS URL line (nfs:// prefix, empty field); no address, or one without a server, is refused at the field and nothing is stored', async () => {
    expect(await storageType().inputValue()).toBe('none');
    expect(await urlField().count()).toBe(0);
    expect(await storage().getByTestId('location-prefix').count()).toBe(0);

    await storageType().selectOption({ label: NFS_LABEL });
    await urlField().waitFor();
    expect(await urlField().inputValue()).toBe('');
    expect(await storage().getByTestId('location-prefix').textContent()).toBe('nfs://');
    expect(await storage().getByRole('button', { name: 'Browse Storage', exact: true }).isVisible()).toBe(true);

    await submitForm(page, 'Save Storage Settings');
    await expectFieldError(page, 'location', 'Enter the NFS URL.');
    await storage().getByText('Check the highlighted fields.', { exact: true }).waitFor();
    await expectRefusedAsLeft('');

    // A path without a server (nfs:///export) is refused in its own words.
    await urlField().fill('/export');
    await submitForm(page, 'Save Storage Settings');
    await expectFieldError(page, 'location', 'The NFS address needs a server name or address.');
    await expectRefusedAsLeft('/export');

    // After a reload the page shows what is stored: still no storage location.
    await openBackupPage();
    expect(await storageType().inputValue()).toBe('none');
    expect(await urlField().count()).toBe(0);
    await expect.poll(() => panel().getByTestId('schedule-disabled-reason').textContent()).toBe('Choose a backup storage location first.');
    expect(await page.getByTestId('backup-now-reason').textContent()).toBe('Choose a backup storage location first.');
    expect(await page.getByRole('button', { name: 'Backup now' }).isDisabled()).toBe(true);
  });

  it('2. refuses, in words at the field, NFS version 3, a share the server does not have, and a read-only share', async () => {
    await storageType().selectOption({ label: NFS_LABEL });
    await urlField().waitFor();

    // Refused before anything connects: the console speaks NFS 4, 4.1 and 4.2 only.
    const v3 = nfs.url('4.2').replace('version=4.2', 'version=3');
    await submitUrl(v3);
    // (The field's hint names the versions too: the error is matched by its own words.)
    expect(await expectFieldError(page, 'location', 'The NFS version must')).toBe('The NFS version must be 4, 4.1 or 4.2.');
    await expectRefusedAsLeft(rest(v3));

    // The server answers, but has nothing at that path.
    const nowhere = nfs.url('4.2').replace('/export', '/nowhere');
    await submitUrl(nowhere);
    const noSuch = await expectFieldError(page, 'location', 'no such export or path');
    expect(noSuch).toBe(`The console cannot use ${nowhere}: the server has no such export or path.`);
    await expectRefusedAsLeft(rest(nowhere));

    // The share exists, but the server's ACCESS check does not let the console write.
    const readonly = nfs.readonly.url('4.2');
    await submitUrl(readonly);
    const mayNot = await expectFieldError(page, 'location', 'may not write');
    expect(mayNot).toBe(`The console may not write to ${readonly} (the server's ACCESS check).`);
    await expectRefusedAsLeft(rest(readonly));

    // Both refusals after connecting are in the audit log; nothing was written to the shares.
    const audits = db().audit('backup.storage.configure');
    expect(audits.map((a) => a.outcome)).toEqual(['failure', 'failure']);
    expect(audits[0]!.detail).toContain('no such export or path');
    expect(audits[1]!.detail).toContain('may not write');
    expect(fs.readdirSync(nfs.exportDir)).toEqual([]);
    expect(fs.readdirSync(nfs.readonly.dir)).toEqual(['hello.txt']);

    await openBackupPage();
    expect(await storageType().inputValue()).toBe('none');
    await expect.poll(() => panel().getByTestId('schedule-disabled-reason').textContent()).toBe('Choose a backup storage location first.');
  });

  it('3. accepts the real export (green banner at the top of the page); after a reload the page shows NFS and the stored URL', async () => {
    const stored = `nfs://127.0.0.1:${nfs.port}/export?version=4.2`;
    await storageType().selectOption({ label: NFS_LABEL });
    await urlField().waitFor();
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await submitUrl(nfs.url('4.2'));
    await expectPageFlash(page, STORAGE_SAVED);
    await expectFieldValid(page, 'location');
    expect(await storageType().inputValue(), 'the Storage Type still shows NFS').toBe('nfs');
    expect(await urlField().inputValue()).toBe(rest(nfs.url('4.2')));

    expect(await storedConfig()).toEqual({ type: 'nfs', url: stored });
    const setting = db().setting('storage');
    expect(setting?.value).toEqual({ type: 'nfs', url: stored });
    expect(setting?.updatedBy).toBe(admin.username);
    expect(db().audit('backup.storage.configure').at(-1)).toMatchObject({ outcome: 'success', actor_name: admin.username, target: `NFS share ${stored}` });

    await openBackupPage();
    expect(await storageType().inputValue()).toBe('nfs');
    expect(await storageType().locator('option:checked').textContent()).toBe(NFS_LABEL);
    expect(await urlField().inputValue()).toBe(rest(stored));
    expect(await page.locator('form [name="location"]').getAttribute('aria-invalid')).toBe('false');
    expect(await page.getByTestId('page-flash').count(), 'the banner does not come back after a reload').toBe(0);
    // Nothing blocks a backup any more: the panel only says that the schedule is off.
    await expect.poll(() => panel().getByTestId('schedule-disabled-reason').textContent()).toBe('Automated backups are turned off.');
    expect(await page.getByRole('button', { name: 'Backup now' }).isDisabled()).toBe(false);
    expect(await page.getByTestId('backup-now-reason').count()).toBe(0);
  });

  it('4. Backup now writes the backup onto the NFS share: NOT RUNNING, Last Successful Backup, the .tar.age file, no partial file', async () => {
    // Some configuration to back up: several megabytes, so the file takes several NFS WRITEs.
    const system = path.join(server.dataDir, 'appliance', 'system');
    fs.mkdirSync(system, { recursive: true });
    fs.writeFileSync(path.join(system, 'network.conf'), 'hostname=appliance-nfs-e2e\n');
    fs.writeFileSync(path.join(system, 'cluster.bin'), crypto.randomBytes(6 << 20));

    expect(await panel().getByTestId('last-success').textContent()).toBe('No successful backup yet');
    expect(await clickBackupNow(page)).toBe('Backup #1 started.');

    // The panel refreshes itself: Last Successful Backup gets a time, the status is NOT RUNNING.
    const last = panel().getByTestId('last-success');
    await expect.poll(() => last.locator('time').count(), { timeout: 60_000, interval: 250 }).toBe(1);
    await expect.poll(() => panel().getByTestId('current-status').textContent()).toBe('NOT RUNNING');

    const runs = db().query<{ status: string; error: string | null; file_name: string; target: string; size_bytes: number }>(
      'select status, error, file_name, target, size_bytes from backup_runs',
    );
    expect(runs).toHaveLength(1);
    const [run] = runs as [(typeof runs)[number]];
    expect(run).toMatchObject({ status: 'succeeded', error: null, target: `NFS share nfs://127.0.0.1:${nfs.port}/export?version=4.2` });
    expect(await last.textContent()).toContain(run.file_name);

    // On the NFS server's disk: the one finished file, and nothing half-written.
    const files = fs.readdirSync(nfs.exportDir);
    expect(files).toEqual([run.file_name]);
    expect(run.file_name.endsWith('.tar.age')).toBe(true);
    expect(files.filter((f) => f.endsWith('.partial') || f.startsWith('.'))).toEqual([]);
    const file = path.join(nfs.exportDir, run.file_name);
    expect(fs.statSync(file).size).toBe(run.size_bytes);
    expect(fs.statSync(file).size).toBeGreaterThan(6 << 20);
    const head = Buffer.alloc(21);
    const fd = fs.openSync(file, 'r');
    try {
      fs.readSync(fd, head, 0, head.length, 0);
    } finally {
      fs.closeSync(fd);
    }
    expect(head.toString('latin1')).toBe('age-encryption.org/v1');

    // The history shows the run (refreshed after it ended, without a reload).
    const row = page.getByTestId('run-1');
    await row.waitFor({ timeout: 15_000 });
    expect(await row.getByText('succeeded', { exact: true }).isVisible()).toBe(true);
    expect(await row.textContent()).toContain(run.file_name);
    await expect.poll(() => page.getByRole('button', { name: 'Backup now' }).isDisabled()).toBe(false);
  });

  /** The one backup run so far, with the checksum the console recorded. */
  function theRun() {
    const [run] = db().query<{ id: number; file_name: string; checksum: string }>('select id, file_name, checksum from backup_runs');
    return run!;
  }

  async function expectDetails(scope: ReturnType<Page['locator']>, fileName: string, checksum: string): Promise<void> {
    const table = scope.getByTestId('backup-details');
    await table.waitFor();
    expect(await table.getByTestId('details-file').textContent()).toBe(fileName);
    expect(await table.getByTestId('details-signature').textContent()).toBe("Verified with this appliance's Domain Master Secret");
    expect(await table.getByTestId('details-checksum').locator('#details-checksum').textContent()).toBe(`sha256:${checksum}`);
    expect(await table.getByTestId('details-appliance').textContent()).toBeTruthy();
  }

  it('5. Backup Details of the backup on the share: in the storage browser (Browse Storage at the stored location) and from its Backup History row', async () => {
    const run = theRun();
    // The checksum shown is the file's real SHA-256 (computed here from the server's disk).
    const sha = crypto.createHash('sha256').update(fs.readFileSync(path.join(nfs.exportDir, run.file_name))).digest('hex');
    expect(run.checksum).toBe(sha);

    await openBackupPage();
    await storage().getByRole('button', { name: 'Browse Storage', exact: true }).click();
    const b = storageBrowser(page);
    await b.dialog.waitFor();
    const here = `nfs://127.0.0.1:${nfs.port}/export?version=4.2`;
    await b.shows(here);
    expect(await b.count().textContent()).toBe('1 of 1 shown');
    expect(await b.backups().count()).toBe(1);
    expect(await b.backups().first().textContent()).toContain(run.file_name);
    expect(await b.backups().first().getByText('Backup', { exact: true }).isVisible()).toBe(true);
    // Storage Information of the share: read and write, and its space.
    expect(await b.dialog.getByTestId('info-permission').textContent()).toBe('read, write');
    for (const id of ['info-used', 'info-free', 'info-total']) expect(await b.dialog.getByTestId(id).textContent()).toMatch(/^\d[\d.,]* (B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)$/);

    await b.backups().first().click();
    await b.dialog.getByRole('heading', { name: 'Backup Details' }).waitFor();
    await expectDetails(b.dialog, run.file_name, sha);
    await b.dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    await b.dialog.waitFor({ state: 'hidden' });

    // The history row's file name opens the same details in a dialog.
    await page.getByRole('button', { name: `Backup Details of ${run.file_name}` }).click();
    const dialog = page.getByTestId('run-details');
    await dialog.waitFor();
    expect(await dialog.getByRole('heading').first().textContent()).toBe(`Backup Details: backup #${run.id}`);
    await expectDetails(dialog, run.file_name, sha);
    await dialog.getByRole('button', { name: 'Close', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
  });

  it('6. a folder picked in the storage browser: from the typed server down into the export, filtered, one level up and down again, Use This Location', async () => {
    fs.mkdirSync(path.join(nfs.exportDir, 'archive', 'weekly'), { recursive: true });
    fs.mkdirSync(path.join(nfs.exportDir, 'scratch'));
    await openBackupPage();
    // Only the server is typed: the browser starts at the server's root (its exports).
    await urlField().fill(`127.0.0.1:${nfs.port}`);
    await storage().getByRole('button', { name: 'Browse Storage', exact: true }).click();
    const b = storageBrowser(page);
    await b.dialog.waitFor();
    await expect.poll(() => b.folders().allTextContents()).toContain('export');
    expect(await b.up().isDisabled(), 'nothing above the server root').toBe(true);

    await b.folders().getByText('export', { exact: true }).click();
    await expect.poll(() => b.crumbs()).toHaveLength(2);
    expect((await b.crumbs())[1]).toBe('export');
    await expect.poll(() => b.folders().allTextContents()).toEqual(['archive', 'scratch']);
    expect(await b.backups().count()).toBe(1);
    expect(await b.count().textContent()).toBe('3 of 3 shown');

    await b.filter().fill('arch');
    await expect.poll(() => b.count().textContent()).toBe('1 of 1 shown (1 of 3 match "arch")');
    expect(await b.folders().allTextContents()).toEqual(['archive']);
    expect(await b.backups().count()).toBe(0);

    await b.folders().getByText('archive', { exact: true }).click();
    await expect.poll(() => b.crumbs()).toEqual([expect.any(String), 'export', 'archive']);
    expect(await b.filter().inputValue(), 'the filter is cleared in a new folder').toBe('');
    await expect.poll(() => b.folders().allTextContents()).toEqual(['weekly']);
    const archiveUrl = (await b.url().textContent())!;
    expect(archiveUrl).toMatch(new RegExp(`^nfs://127\\.0\\.0\\.1:${nfs.port}/export/archive(\\?version=4(\\.\\d)?)?$`));

    await b.up().click();
    await expect.poll(() => b.crumbs()).toHaveLength(2);
    await expect.poll(() => b.count().textContent()).toBe('3 of 3 shown');
    await b.folders().getByText('archive', { exact: true }).click();
    await expect.poll(() => b.url().textContent()).toBe(archiveUrl);
    await expect.poll(() => b.use().isEnabled()).toBe(true);

    const answered = page.waitForResponse((r) => r.request().method() === 'POST' && 'next-action' in r.request().headers());
    await b.use().click();
    await answered;
    await expectPageFlash(page, STORAGE_SAVED);
    await b.dialog.waitFor({ state: 'hidden' });
    const config = (await storedConfig()) as { type: string; url: string };
    expect(config.type).toBe('nfs');
    expect(config.url).toMatch(new RegExp(`^nfs://127\\.0\\.0\\.1:${nfs.port}/export/archive\\?version=4\\.[12]$`));
    expect(await urlField().inputValue()).toBe(rest(config.url));
    expect(db().audit('backup.storage.configure').at(-1)).toMatchObject({ outcome: 'success', target: `NFS share ${config.url}` });
    // The console's probe file was removed again: the chosen folder holds only what was there.
    expect(fs.readdirSync(path.join(nfs.exportDir, 'archive'))).toEqual(['weekly']);
  });

  it('7. reopened after another client changed the folder: the kept listing is shown at once, said to be read again, and the new listing replaces it', async () => {
    await openBackupPage();
    await storage().getByRole('button', { name: 'Browse Storage', exact: true }).click();
    const b = storageBrowser(page);
    await b.dialog.waitFor();
    const archiveUrl = (await b.url().textContent())!;
    await b.shows(archiveUrl);
    expect(await b.folders().allTextContents()).toEqual(['weekly']);
    await page.keyboard.press('Escape');
    await b.dialog.waitFor({ state: 'hidden' });

    // Another client adds a folder through the NFS server (ganesha sees it; the folder's modification time moves).
    await addFolderAsAnotherClient(archiveUrl, 'monthly');
    const answers: { stale: boolean; total: number }[] = [];
    const seen = (r: Response) => {
      if (r.url().includes('/api/storage/browse?')) void r.json().then((j: { stale: boolean; total: number }) => answers.push({ stale: j.stale, total: j.total }), () => undefined);
    };
    page.on('response', seen);
    // The new reading (the first page asked without kept) is held until the kept listing has been looked at.
    const held = await holdFreshReadings(page);
    try {
      await storage().getByRole('button', { name: 'Browse Storage', exact: true }).click();
      await b.dialog.waitFor();
      await expect.poll(() => b.url().textContent()).toBe(archiveUrl);
      // The kept listing, on screen and not busy, said to be read again, with when it was read (exact time on hover).
      const updating = b.dialog.getByTestId('browser-updating');
      await updating.waitFor();
      expect(await updating.getAttribute('role')).toBe('status');
      // Polled: the relative time first renders as the exact time, until its effect has run.
      await expect.poll(() => updating.textContent()).toMatch(/^The folder changed since it was read (just now|\d+ seconds? ago); reading it again…$/);
      expect(await updating.locator('time').getAttribute('title')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
      expect(await b.folders().allTextContents()).toEqual(['weekly']);
      expect(await b.count().textContent()).toBe('1 of 1 shown');
      expect(await b.dialog.getByTestId('browser-entries').getAttribute('aria-busy')).toBe('false');
      held.release();
      await expect.poll(() => b.folders().allTextContents()).toEqual(['monthly', 'weekly']);
      await b.shows(archiveUrl);
      expect(await b.count().textContent()).toBe('2 of 2 shown');
      // What was shown first: the kept listing (1 entry), marked stale; then the new reading.
      await expect.poll(() => answers.length).toBe(2);
      expect(answers).toEqual([{ stale: true, total: 1 }, { stale: false, total: 2 }]);
    } finally {
      await held.stop();
      page.off('response', seen);
    }
    await page.keyboard.press('Escape');
  });

  it('8. the NFS server gone while the changed folder is read again: the kept listing stays on screen with the reason beside it; the server back, the dialog shows the new listing', async () => {
    await openBackupPage();
    const b = storageBrowser(page);
    await storage().getByRole('button', { name: 'Browse Storage', exact: true }).click();
    await b.dialog.waitFor();
    const archiveUrl = (await b.url().textContent())!;
    await b.shows(archiveUrl);
    expect(await b.folders().allTextContents()).toEqual(['monthly', 'weekly']);
    await page.keyboard.press('Escape');
    await b.dialog.waitFor({ state: 'hidden' });
    await addFolderAsAnotherClient(archiveUrl, 'yearly');
    const held = await holdFreshReadings(page);
    try {
      await storage().getByRole('button', { name: 'Browse Storage', exact: true }).click();
      await b.dialog.getByTestId('browser-updating').waitFor();
      expect(await b.folders().allTextContents()).toEqual(['monthly', 'weekly']);
      // The server goes away before the new reading is asked for.
      await nfs.kill();
      held.release();
      const problem = b.dialog.getByTestId('browser-error');
      await problem.waitFor();
      expect(await problem.getAttribute('role')).toBe('alert');
      expect(await problem.textContent()).toMatch(/NFS share/);
      expect(await problem.textContent()).not.toMatch(/\bat \S+:\d+|Error:/);
      // What was shown stays, said to be the folder as it was read, no longer said to be read again, and not left busy.
      expect(await b.folders().allTextContents()).toEqual(['monthly', 'weekly']);
      await expect.poll(() => b.dialog.getByTestId('browser-outdated').textContent()).toMatch(/^The entries below are the folder as it was read (just now|\d+ seconds? ago), before it changed\.$/);
      await expect.poll(() => b.dialog.getByTestId('browser-updating').count()).toBe(0);
      await expect.poll(() => b.dialog.getByTestId('browser-entries').getAttribute('aria-busy')).toBe('false');
    } finally {
      await held.stop();
      await nfs.restart();
    }
    // The server back: reopening the dialog shows the folder as it is now, without reloading the page.
    await page.keyboard.press('Escape');
    await b.dialog.waitFor({ state: 'hidden' });
    await storage().getByRole('button', { name: 'Browse Storage', exact: true }).click();
    await expect.poll(() => b.folders().allTextContents(), { timeout: 30_000 }).toEqual(['monthly', 'weekly', 'yearly']);
    await b.shows(archiveUrl);
    expect(await b.dialog.getByTestId('browser-error').count()).toBe(0);
    expect(await b.dialog.getByTestId('browser-outdated').count()).toBe(0);
    await page.keyboard.press('Escape');
  });
});
