import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import { ConsoleClient } from '../helpers/http-client';
import { backupViaApi, cleanUp, controlsOutside, createAccountViaApi, gotoAndHydrate, setDmsViaApi, signInWithPassword, storageBrowser, type RunInfo } from './harness';

/**
 * The Backup page on a phone-sized screen (390 × 844 CSS px), in Chromium,
 * as an admin with a local folder holding a backup and a file with a very
 * long name: nothing makes the page wider than the screen, and every control
 * (each button, select, input and link of the header and the page, Sign out
 * included) lies within 0..390 once scrolled into view: the page with each
 * Storage Type's form, the storage browser dialog with its Storage
 * Information and with a backup's Backup Details, and a history row's
 * Backup Details dialog.
 */
const WIDTH = 390;
const DMS = 'narrow screen e2e domain master secret';

describe('The Backup page at 390 px wide', () => {
  let server: ConsoleServer;
  let browser: TestBrowser;
  let page: Page;
  let store: string;
  let run: RunInfo;
  const alice = { username: 'alice', password: 'alice password 0001' };
  const storage = () => page.getByRole('form', { name: 'Backup Storage Settings' });

  const scrollWidth = () => page.evaluate(() => document.documentElement.scrollWidth);

  /** The page is no wider than the screen and every control of `scope` lies within it. */
  async function expectFits(scope?: string): Promise<number> {
    expect(await scrollWidth(), 'document.documentElement.scrollWidth').toBeLessThanOrEqual(WIDTH);
    const { checked, outside } = await controlsOutside(page, WIDTH, scope);
    expect(outside, 'controls outside 0..390').toEqual([]);
    expect(await scrollWidth()).toBeLessThanOrEqual(WIDTH);
    return checked;
  }

  beforeAll(async () => {
    store = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-e2e-narrow-'));
    fs.writeFileSync(path.join(store, `${'a-very-long-file-name-without-spaces-'.repeat(4)}end.txt`), 'x');
    fs.mkdirSync(path.join(store, `${'folder_with_a_long_name_'.repeat(3)}end`));
    server = await startConsole();
    await createAccountViaApi(server.url, { username: 'otp', password: server.otpPassword! }, { ...alice, role: 'admin', displayName: 'Alice Administrator of the Appliance' });
    const api = new ConsoleClient(server.url);
    expect((await api.signIn(alice.username, alice.password)).ok).toBe(true);
    await setDmsViaApi(api, DMS);
    expect((await api.json('/api/backup/storage', 'PUT', { type: 'local', path: store })).status).toBe(200);
    run = await backupViaApi(api);
    expect(run, JSON.stringify(run)).toMatchObject({ status: 'succeeded' });
    browser = await launchBrowser();
    page = await (await browser.newContext()).newPage();
    await page.setViewportSize({ width: WIDTH, height: 844 });
    await signInWithPassword(page, server.url, alice.username, alice.password);
  });

  afterAll(() =>
    cleanUp(
      () => browser?.close(),
      () => server?.stop(),
      () => server && fs.rmSync(server.dataDir, { recursive: true, force: true }),
      () => store && fs.rmSync(store, { recursive: true, force: true }),
    ),
  );

  it('1. the page, header and Sign out included, fits; so does each Storage Type\'s form', async () => {
    expect(await page.evaluate(() => window.innerWidth)).toBe(WIDTH);
    const checked = await expectFits();
    expect(checked, 'controls checked').toBeGreaterThan(15);
    // Sign out is reachable on screen (it is easy to push off a narrow header).
    const signOut = page.locator('header').getByRole('button', { name: 'Sign out' });
    await signOut.scrollIntoViewIfNeeded();
    const box = (await signOut.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(WIDTH);
    // The history row, stacked, shows its file name button within the screen.
    expect(await page.getByRole('button', { name: `Backup Details of ${run.fileName}` }).isVisible()).toBe(true);

    for (const label of ['Network File Setting (NFS)', 'USB drive', 'None', 'Local folder']) {
      await storage().getByLabel('Storage Type').selectOption({ label });
      if (label === 'USB drive') await storage().getByTestId('usb-drives').getByText(/No USB drive is attached|Attached USB drives/).first().waitFor();
      await expectFits();
    }
  });

  it('2. the storage browser dialog fits: the listing, Storage Information, and a backup\'s Backup Details', async () => {
    await gotoAndHydrate(page, `${server.url}/backup`);
    await storage().getByRole('button', { name: 'Browse Storage', exact: true }).click();
    const b = storageBrowser(page);
    await b.shows(`file://${store}`);
    const dialogBox = (await b.dialog.boundingBox())!;
    expect(dialogBox.x).toBeGreaterThanOrEqual(0);
    expect(dialogBox.x + dialogBox.width).toBeLessThanOrEqual(WIDTH);
    expect(await b.dialog.getByTestId('info-permission').textContent()).toBe('read, write');
    const checked = await expectFits('dialog[open]');
    expect(checked).toBeGreaterThanOrEqual(7); // Close, crumb, up, filter, folder, backup, Use This Location, Cancel
    expect(await b.use().isVisible()).toBe(true);

    await b.backups().first().click();
    await b.dialog.getByTestId('details-checksum').waitFor();
    expect(await b.dialog.locator('#details-checksum').textContent()).toBe(`sha256:${run.checksum}`);
    await expectFits('dialog[open]');
    // The details table (with its 64-digit checksum) stays within the dialog.
    const table = (await b.dialog.getByTestId('backup-details').boundingBox())!;
    expect(table.x + table.width).toBeLessThanOrEqual(WIDTH);
    await b.dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    await b.dialog.waitFor({ state: 'hidden' });
  });

  it('3. a history row\'s Backup Details dialog fits', async () => {
    await page.getByRole('button', { name: `Backup Details of ${run.fileName}` }).click();
    const dialog = page.getByTestId('run-details');
    await dialog.getByTestId('details-checksum').waitFor();
    await expectFits('dialog[open]');
    const box = (await dialog.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(WIDTH);
    await dialog.getByRole('button', { name: 'Close', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    await expectFits();
  });
});
