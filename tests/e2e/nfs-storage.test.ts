import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import { ConsoleClient } from '../helpers/http-client';
import { startNfsServer, type NfsServer } from '../helpers/nfs-server';
import {
  cleanUp,
  consoleDb,
  createAccountViaApi,
  expectFieldError,
  expectFieldValid,
  gotoAndHydrate,
  signInWithPassword,
  submitForm,
} from './harness';

/**
 * An NFS share as the backup storage location, chosen in Chromium as an admin
 * would, against a real NFS server (nfs-ganesha on loopback): the NFS URL
 * field appears with the Storage Type; an empty address, an NFS version the
 * console does not speak, a share the server does not have and a read-only
 * share are each refused with words tied to the field, and nothing is
 * stored; the real export is accepted, kept (in one spelling) across a
 * reload, and "Backup now" writes a backup file onto it.
 */
const DMS = 'nfs storage e2e domain master secret';
const NFS_LABEL = 'Network File Setting (NFS)';
const SUCCESS = 'Successfully updated backup storage configuration.';

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

  /** Types an NFS URL into the field and submits the form; the page is not reloaded in between. */
  async function submitUrl(url: string): Promise<void> {
    await urlField().fill(url);
    await submitForm(page, 'Use This Location');
  }

  /** After a refused URL: the form is as the admin left it (NFS chosen, the URL typed), nothing is stored. */
  async function expectRefusedAsLeft(url: string): Promise<void> {
    expect(await storageType().inputValue(), 'the Storage Type still shows NFS').toBe('nfs');
    expect(await urlField().inputValue()).toBe(url);
    expect(await storage().getByText(SUCCESS).count()).toBe(0);
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
    await page.getByRole('button', { name: 'Set Domain Master Secret', exact: true }).click();
    const form = page.getByRole('form', { name: 'Set Domain Master Secret' });
    await form.locator('input[name="dms"]').fill(DMS);
    await form.locator('input[name="dmsRepeat"]').fill(DMS);
    const answered = page.waitForResponse((r) => r.request().method() === 'POST' && 'next-action' in r.request().headers());
    await form.getByRole('button', { name: 'Set Domain Master Secret', exact: true }).click();
    await answered;
    await page.getByText('DOMAIN MASTER SECRET IS SET.', { exact: true }).waitFor();
    await openBackupPage();
    await expect.poll(() => panel().getByTestId('schedule-disabled-reason').textContent()).toBe('Choose a backup storage location first.');
    expect(await storedConfig()).toEqual({ type: 'none' });
  });

  it('1. choosing NFS shows the NFS URL field; "nfs://" alone is refused at the field and nothing is stored', async () => {
    expect(await storageType().inputValue()).toBe('none');
    expect(await urlField().count()).toBe(0);

    await storageType().selectOption({ label: NFS_LABEL });
    await urlField().waitFor();
    expect(await urlField().inputValue()).toBe('nfs://');

    await submitForm(page, 'Use This Location');
    await expectFieldError(page, 'url', 'The NFS address needs a server name or address.');
    await storage().getByText('Check the highlighted fields.', { exact: true }).waitFor();
    await expectRefusedAsLeft('nfs://');

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
    expect(await expectFieldError(page, 'url', 'The NFS version must')).toBe('The NFS version must be 4, 4.1 or 4.2.');
    await expectRefusedAsLeft(v3);

    // The server answers, but has nothing at that path.
    const nowhere = nfs.url('4.2').replace('/export', '/nowhere');
    await submitUrl(nowhere);
    const noSuch = await expectFieldError(page, 'url', 'no such export or path');
    expect(noSuch).toBe(`NFS share ${nowhere}: check access failed: the server has no such export or path`);
    await expectRefusedAsLeft(nowhere);

    // The share exists, but the server's ACCESS check does not let the console write.
    const readonly = nfs.readonly.url('4.2');
    await submitUrl(readonly);
    const mayNot = await expectFieldError(page, 'url', 'may not write');
    expect(mayNot).toBe(`The console may not write to ${readonly} (the server's ACCESS check).`);
    await expectRefusedAsLeft(readonly);

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

  it('3. accepts the real export; after a reload the page shows NFS and the stored URL', async () => {
    const stored = `nfs://127.0.0.1:${nfs.port}/export?version=4.2`;
    await storageType().selectOption({ label: NFS_LABEL });
    await urlField().waitFor();
    await submitUrl(nfs.url('4.2'));
    await storage().getByText(SUCCESS, { exact: true }).waitFor();
    await expectFieldValid(page, 'url');
    expect(await storageType().inputValue(), 'the Storage Type still shows NFS').toBe('nfs');
    expect(await urlField().inputValue()).toBe(nfs.url('4.2'));

    expect(await storedConfig()).toEqual({ type: 'nfs', url: stored });
    const setting = db().setting('storage');
    expect(setting?.value).toEqual({ type: 'nfs', url: stored });
    expect(setting?.updatedBy).toBe(admin.username);
    expect(db().audit('backup.storage.configure').at(-1)).toMatchObject({ outcome: 'success', actor_name: admin.username, target: `NFS share ${stored}` });

    await openBackupPage();
    expect(await storageType().inputValue()).toBe('nfs');
    expect(await storageType().locator('option:checked').textContent()).toBe(NFS_LABEL);
    expect(await urlField().inputValue()).toBe(stored);
    expect(await page.locator('form [name="url"]').getAttribute('aria-invalid')).toBe('false');
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
    await submitForm(page, 'Backup now');
    expect((await page.getByTestId('backup-now-result').textContent())?.trim()).toBe('Backup #1 started.');

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
});
