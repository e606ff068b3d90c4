import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import { ConsoleClient } from '../helpers/http-client';
import { backupViaApi, cleanUp, consoleDb, createAccountViaApi, gotoAndHydrate, setDmsViaApi, signInWithPassword, storageBrowser, type RunInfo } from './harness';

/**
 * The storage browser and Backup Details as a Support user sees them, in
 * Chromium, on a local folder holding a real backup among 250 other files:
 * the browser opens at the stored location, shows "N of M", loads more
 * entries as the list scrolls and on "Load more", filters on the server;
 * a click on the backup shows its Backup Details (signature verified with
 * this appliance's DMS, the recorded checksum), as does its Backup History
 * row. Support may not save: no Use This Location (the browser says only an
 * admin may), no Save Storage Settings, no form field at all, and the API
 * refuses PUT /api/backup/storage with 403, storing nothing.
 */
const DMS = 'storage browser e2e domain master secret';
const FILES = 250;

describe('The storage browser and Backup Details for a Support user', () => {
  let server: ConsoleServer;
  let browser: TestBrowser;
  let page: Page;
  let admin: ConsoleClient;
  let support: ConsoleClient;
  let store: string;
  let run: RunInfo;
  const alice = { username: 'alice', password: 'alice password 0001' };
  const sam = { username: 'sam', password: 'sam support password 1' };
  const db = () => consoleDb(server.dataDir);
  // Support sees the Backup Storage section without a form.
  const storage = () => page.getByRole('region', { name: 'Backup Storage' });

  beforeAll(async () => {
    store = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-e2e-store-'));
    for (let i = 1; i <= FILES; i++) fs.writeFileSync(path.join(store, `file-${String(i).padStart(3, '0')}.txt`), 'x');
    fs.mkdirSync(path.join(store, 'old'));
    server = await startConsole();
    await createAccountViaApi(server.url, { username: 'otp', password: server.otpPassword! }, { ...alice, role: 'admin' });
    await createAccountViaApi(server.url, alice, { ...sam, role: 'support', displayName: 'Sam Support' });
    admin = new ConsoleClient(server.url);
    expect((await admin.signIn(alice.username, alice.password)).ok).toBe(true);
    await setDmsViaApi(admin, DMS);
    const saved = await admin.json('/api/backup/storage', 'PUT', { type: 'local', path: store });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    run = await backupViaApi(admin);
    expect(run, JSON.stringify(run)).toMatchObject({ status: 'succeeded', error: null });
    support = new ConsoleClient(server.url);
    expect((await support.signIn(sam.username, sam.password)).ok).toBe(true);
    browser = await launchBrowser();
    page = await (await browser.newContext()).newPage();
    await signInWithPassword(page, server.url, sam.username, sam.password);
  });

  afterAll(() =>
    cleanUp(
      () => browser?.close(),
      () => server?.stop(),
      () => server && fs.rmSync(server.dataDir, { recursive: true, force: true }),
      () => store && fs.rmSync(store, { recursive: true, force: true }),
    ),
  );

  it('1. the Backup page shows Support the stored location read-only: no form field, no Save Storage Settings, no Backup now', async () => {
    expect(await page.getByTestId('whoami').textContent()).toContain('Support');
    expect(await page.getByRole('form', { name: 'Backup Storage Settings' }).count()).toBe(0);
    expect(await storage().locator('input, select, textarea').count()).toBe(0);
    expect(await storage().getByTestId('storage-url').textContent()).toBe(`file://${store}`);
    expect(await storage().getByTestId('storage-readonly').textContent()).toBe(`Local folder ${store}`);
    expect(await page.getByRole('button', { name: 'Save Storage Settings' }).count()).toBe(0);
    expect(await storage().getByText('Only an admin can change the backup storage.').isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Backup now' }).count()).toBe(0);
    expect(await storage().getByRole('button', { name: 'Browse Storage', exact: true }).isEnabled()).toBe(true);
  });

  it('2. the browser opens at the stored folder: N of M shown, more on scroll and on Load more, filtered on the server; no Use This Location', async () => {
    await storage().getByRole('button', { name: 'Browse Storage', exact: true }).click();
    const b = storageBrowser(page);
    await b.dialog.waitFor();
    await b.shows(`file://${store}`);
    const total = FILES + 2; // the files, the folder "old", the backup
    expect(await b.count().textContent()).toBe(`100 of ${total} shown`);
    // Folders first, then files in natural order.
    const first = await b.names();
    expect(first.slice(0, 2)).toEqual(['old', 'file-001.txt']);
    expect(await b.dialog.getByTestId('info-permission').textContent()).toBe('read, write');

    // Scrolling to the end of the list loads the next page by itself.
    await b.dialog.getByTestId('browser-entries').evaluate((ul) => ul.scrollTo(0, ul.scrollHeight));
    await expect.poll(() => b.count().textContent()).toBe(`200 of ${total} shown`);
    // "Load more" (or the scroll that brings it into view) fetches the rest.
    await b.dialog.getByRole('button', { name: 'Load more' }).click();
    await expect.poll(() => b.count().textContent()).toBe(`${total} of ${total} shown`);
    expect(await b.dialog.getByRole('button', { name: 'Load more' }).count()).toBe(0);
    const all = await b.names();
    expect(all).toHaveLength(total);
    expect(new Set(all).size, 'no entry twice').toBe(total);
    expect(all.filter((n) => n.startsWith('file-')).at(-1)).toBe('file-250.txt');
    expect(await b.backups().count()).toBe(1);

    await b.filter().fill('file-00');
    await expect.poll(() => b.count().textContent()).toBe(`9 of 9 shown (9 of ${total} match "file-00")`);
    expect(await b.names()).toEqual(Array.from({ length: 9 }, (_, i) => `file-00${i + 1}.txt`));
    await b.filter().fill('no such name');
    await expect.poll(() => b.dialog.getByTestId('browser-empty').count()).toBe(1);
    expect(await b.dialog.getByTestId('browser-empty').textContent()).toBe(`Nothing here matches "no such name". Clear the filter to see all ${total} entries.`);
    await b.filter().fill('');
    await expect.poll(() => b.count().textContent()).toBe(`100 of ${total} shown`);

    // Support may look, not choose.
    expect(await b.use().count()).toBe(0);
    expect(await b.dialog.getByTestId('browser-read-only').textContent()).toBe('Only an admin can change the backup location.');
  });

  it('3. a click on the backup shows its Backup Details: file name, signature verified with this DMS, the checksum', async () => {
    const b = storageBrowser(page);
    await b.filter().fill('.tar.age');
    await expect.poll(() => b.backups().count()).toBe(1);
    expect(await b.backups().first().textContent()).toContain(run.fileName!);
    await b.backups().first().click();
    expect(await b.backups().first().getAttribute('aria-pressed')).toBe('true');
    const details = b.dialog.getByTestId('backup-details');
    await details.waitFor();
    expect(await details.getByTestId('details-file').textContent()).toBe(run.fileName);
    expect(await details.getByTestId('details-signature').textContent()).toBe("Verified with this appliance's Domain Master Secret");
    expect(await details.locator('#details-checksum').textContent()).toBe(`sha256:${run.checksum}`);
    expect(run.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(await details.getByTestId('details-size').textContent()).toMatch(/^[\d.]+ (bytes?|KB|MB)$/);
    // Back to the Storage Information.
    await b.dialog.getByRole('button', { name: 'Storage Information', exact: true }).click();
    await b.dialog.getByTestId('info-permission').waitFor();
    await b.dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    await b.dialog.waitFor({ state: 'hidden' });
  });

  it('4. the Backup History row opens the same Backup Details for Support', async () => {
    await page.getByRole('button', { name: `Backup Details of ${run.fileName}` }).click();
    const dialog = page.getByTestId('run-details');
    await dialog.getByTestId('backup-details').waitFor();
    expect(await dialog.getByTestId('details-file').textContent()).toBe(run.fileName);
    expect(await dialog.getByTestId('details-signature').textContent()).toBe("Verified with this appliance's Domain Master Secret");
    expect(await dialog.locator('#details-checksum').textContent()).toBe(`sha256:${run.checksum}`);
    await dialog.getByRole('button', { name: 'Close', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
  });

  it('5. the API refuses Support a change of the storage (403) and stores nothing; reading is allowed', async () => {
    const before = db().setting('storage');
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-e2e-other-'));
    try {
      for (const body of [{ type: 'local', path: other }, { type: 'none' }]) {
        const res = await support.json<{ error?: { code?: string } }>('/api/backup/storage', 'PUT', body);
        expect(res.status, JSON.stringify(res.body)).toBe(403);
      }
      expect(fs.readdirSync(other), 'no probe file was written').toEqual([]);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
    expect(db().setting('storage')).toEqual(before);
    const read = await support.json<{ config: unknown }>('/api/backup/storage');
    expect(read.status).toBe(200);
    expect(read.body.config).toEqual({ type: 'local', path: store });
    const browse = await support.json<{ total: number }>(`/api/storage/browse?${new URLSearchParams({ url: `file://${store}`, limit: '1' })}`);
    expect(browse.status).toBe(200);
    expect(browse.body.total).toBe(FILES + 2);
    const details = await support.json(`/api/backups/${run.id}/details`);
    expect(details.status).toBe(200);
  });

  it('6. by keyboard: Enter opens the browser, a folder opened moves focus to its listing, Escape closes it and focus is back on Browse Storage', async () => {
    const open = storage().getByRole('button', { name: 'Browse Storage', exact: true });
    await open.focus();
    await page.keyboard.press('Enter');
    const b = storageBrowser(page);
    await b.dialog.waitFor();
    await b.shows(`file://${store}`);
    await b.dialog.getByTestId('browser-folder').first().focus();
    await page.keyboard.press('Enter');
    await b.shows(`file://${store}/old`);
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('browser-entries');
    await page.keyboard.press('Escape');
    await b.dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Browse Storage');
  });
});
