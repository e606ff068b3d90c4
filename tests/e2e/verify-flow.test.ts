import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import { ConsoleClient } from '../helpers/http-client';
import {
  backupViaApi,
  cleanUp,
  consoleDb,
  controlsOutside,
  createAccountViaApi,
  expectFieldError,
  gotoAndHydrate,
  setDmsViaApi,
  signInWithPassword,
  storageBrowser,
  submitForm,
  type RunInfo,
} from './harness';

/**
 * Verify in Chromium: an operator verifies a backup from its Backup History
 * row (Full: a progress bar, then "Verified (full) just now" with the exact
 * time on hover), again from its Backup Details (Quick, the row follows),
 * then the file is damaged in a late chunk on the storage folder: Full says
 * "Verify failed: …" in red in the row, and a banner above the history; a
 * Quick verification from the storage browser passes (it does not read
 * that chunk) but does not clear the failure. Support sees the results and
 * no Verify button. The admin's Scheduled Verification form: a bad number
 * of days is told at the field, a good one saved. At 390 px every control
 * stays on screen.
 */
const DMS = 'verify e2e domain master secret';
/** Set to a folder to keep PNGs of the page at each step. */
const SCREENSHOTS = process.env.WEBCONF_E2E_SCREENSHOTS;
const CHUNK = 65536 + 16;

describe('Verify a backup from the history and the storage browser', () => {
  let server: ConsoleServer;
  let browser: TestBrowser;
  let page: Page;
  let store: string;
  let run: RunInfo;
  const alice = { username: 'alice', password: 'alice password 0001' };
  const otto = { username: 'otto', password: 'otto operator pass 1' };
  const sam = { username: 'sam', password: 'sam support password 1' };
  const db = () => consoleDb(server.dataDir);
  const row = () => page.getByTestId(`run-${run.id}`);
  const cell = () => page.getByTestId(`run-${run.id}-verification`);

  async function screenshot(name: string): Promise<void> {
    if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, `verify-${name}.png`), fullPage: true });
  }

  async function signInAs(who: { username: string; password: string }) {
    const ctx = await browser.newContext();
    page = await ctx.newPage();
    await signInWithPassword(page, server.url, who.username, who.password);
  }

  beforeAll(async () => {
    store = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-e2e-verify-'));
    server = await startConsole();
    // Some 4 MiB of configuration: many chunks after the manifest.
    fs.mkdirSync(path.join(server.dataDir, 'appliance', 'system'), { recursive: true });
    fs.writeFileSync(path.join(server.dataDir, 'appliance', 'system', 'large.bin'), Buffer.alloc(4 << 20, 3));
    await createAccountViaApi(server.url, { username: 'otp', password: server.otpPassword! }, { ...alice, role: 'admin' });
    await createAccountViaApi(server.url, alice, { ...otto, role: 'operator' });
    await createAccountViaApi(server.url, alice, { ...sam, role: 'support' });
    const admin = new ConsoleClient(server.url);
    expect((await admin.signIn(alice.username, alice.password)).ok).toBe(true);
    await setDmsViaApi(admin, DMS);
    expect((await admin.json('/api/backup/storage', 'PUT', { type: 'local', path: store })).status).toBe(200);
    run = await backupViaApi(admin);
    expect(run).toMatchObject({ status: 'succeeded', error: null });
    browser = await launchBrowser();
    await signInAs(otto);
  });

  afterAll(() =>
    cleanUp(
      () => browser?.close(),
      () => server?.stop(),
      () => server && fs.rmSync(server.dataDir, { recursive: true, force: true }),
      () => store && fs.rmSync(store, { recursive: true, force: true }),
    ),
  );

  it('1. the history row: not verified yet (what each level does), and a Quick and a Full verify button', async () => {
    expect(await cell().getByTestId('verify-none').textContent()).toMatch(/^Not verified yet\. Quick checks the header, the signed manifest and the length/);
    expect(await cell().getByRole('button', { name: `Quick verify of ${run.fileName}` }).isEnabled()).toBe(true);
    expect(await cell().getByRole('button', { name: `Full verify of ${run.fileName}` }).isEnabled()).toBe(true);
    expect(await page.getByTestId('verify-failures').count()).toBe(0);
  });

  it('2. Full verify from the row: a progress bar while it runs, then "Verified (full) just now", the exact time on hover', async () => {
    await cell().getByRole('button', { name: `Full verify of ${run.fileName}` }).click();
    // The buttons wait while it runs; the progress bar names the file.
    await cell().getByRole('progressbar', { name: `Verification of ${run.fileName}` }).waitFor();
    expect(await cell().getByRole('button', { name: `Quick verify of ${run.fileName}` }).isDisabled()).toBe(true);
    const result = cell().getByTestId('verify-result');
    await expect.poll(() => result.textContent(), { timeout: 60_000 }).toBe('Verified (full) just now');
    expect(await cell().getByRole('progressbar').count()).toBe(0);
    await screenshot('2-verified-full');
    const title = await result.locator('time').getAttribute('title');
    expect(title).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    const [v] = db().query<{ status: string; level: string; requested_by: string; finished_at: number }>('select status, level, requested_by, finished_at from backup_verifications');
    expect(v).toMatchObject({ status: 'passed', level: 'full', requested_by: 'otto' });
    expect(title).toBe(`${new Date(v!.finished_at).toISOString().replace('T', ' ').slice(0, 19)} UTC`);
  });

  it('3. Quick verify from the Backup Details dialog: the dialog and the row behind it both follow', async () => {
    await row().getByRole('button', { name: `Backup Details of ${run.fileName}` }).click();
    const dialog = page.getByRole('dialog', { name: `Backup Details: backup #${run.id}` });
    const panel = dialog.getByTestId('verify-panel');
    await expect.poll(() => panel.getByTestId('verify-result').textContent()).toBe('Verified (full) just now');
    await panel.getByRole('button', { name: `Quick verify of ${run.fileName}` }).click();
    await expect.poll(() => panel.getByTestId('verify-result').textContent(), { timeout: 30_000 }).toBe('Verified (quick) just now');
    expect(await panel.getByTestId('verify-history').locator('summary').textContent()).toBe('Earlier verifications (2)');
    await screenshot('3-details-dialog');
    await dialog.getByRole('button', { name: 'Close', exact: true }).click();
    await expect.poll(() => cell().getByTestId('verify-result').textContent()).toBe('Verified (quick) just now');
  });

  it('4. damaged in a late chunk: Full fails in red in the row ("Verify failed: …"), with a banner above the history', async () => {
    const file = path.join(store, run.fileName!);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 20 * CHUNK]! ^= 0x10;
    fs.writeFileSync(file, bytes);
    await cell().getByRole('button', { name: `Full verify of ${run.fileName}` }).click();
    const result = cell().getByTestId('verify-result');
    await expect.poll(() => result.textContent(), { timeout: 60_000 }).toMatch(/^Verify failed: The backup file is damaged: chunk \d+ failed authentication\. \(full, just now\)$/);
    expect(await result.evaluate((el) => el.className)).toContain('text-red-800');
    // As visible as a failed backup: a red badge, and a banner (role alert) above the history after the page caught up.
    const banner = page.getByTestId('verify-failures');
    await banner.waitFor();
    expect(await banner.getAttribute('role')).toBe('alert');
    await screenshot('4-verify-failed');
    expect(await banner.textContent()).toMatch(new RegExp(`A backup failed verification\\..*Backup #${run.id} \\(${run.fileName!.replace(/\./g, '\\.')}\\), full verification just now: The backup file is damaged: chunk \\d+ failed authentication\\.`));
  });

  it('5. in the storage browser: the same failure; Quick passes there (it does not read that chunk) and does not clear it', async () => {
    const storage = page.getByRole('region', { name: 'Backup Storage' });
    await storage.getByRole('button', { name: 'Browse Storage', exact: true }).click();
    const b = storageBrowser(page);
    await b.shows(`file://${store}`);
    await b.backups().filter({ hasText: run.fileName! }).click();
    const panel = b.dialog.getByTestId('verify-panel');
    await expect.poll(() => panel.getByTestId('verify-result').textContent()).toMatch(/^Verify failed: The backup file is damaged: chunk \d+ failed authentication\./);
    await panel.getByRole('button', { name: `Quick verify of ${run.fileName}` }).click();
    await expect.poll(() => panel.getByTestId('verify-history').locator('summary').textContent(), { timeout: 30_000 }).toBe('Earlier verifications (4)');
    expect(await panel.getByTestId('verify-history').locator('li').first().textContent()).toMatch(/quick, by otto: passed$/);
    expect(await panel.getByTestId('verify-result').textContent()).toMatch(/^Verify failed: /);
    await screenshot('5-storage-browser');
    await b.dialog.getByRole('button', { name: 'Close', exact: true }).first().click();
  });

  it('6. Support sees the results, and no Verify button', async () => {
    await signInAs(sam);
    expect(await cell().getByTestId('verify-result').textContent()).toMatch(/^Verify failed: The backup file is damaged/);
    expect(await page.getByRole('button', { name: /verify of/ }).count()).toBe(0);
    expect(await page.getByTestId('verify-schedule-readonly').textContent()).toBe('Turned off: backups are verified only when someone clicks Quick verify or Full verify.');
  });

  it('7. the admin sets the Scheduled Verification: a bad number of days is told at the field, a good one saved', async () => {
    await signInAs(alice);
    const form = page.getByRole('form', { name: 'Scheduled Verification' });
    await form.getByRole('checkbox', { name: 'Verify the backups on the storage location automatically' }).check();
    const days = form.getByRole('spinbutton', { name: 'Verify each backup again after (days)' });
    expect(await days.inputValue()).toBe('30');
    await days.fill('400');
    await submitForm(page, 'Save Verification Schedule');
    await expectFieldError(page, 'everyDays', 'At most 365 days.');
    expect(db().setting('verifySchedule')).toBeUndefined();
    await days.fill('14');
    await submitForm(page, 'Save Verification Schedule');
    await form.getByText('Scheduled verification saved: each backup is fully verified again after 14 days.').waitFor();
    expect(db().setting('verifySchedule')).toMatchObject({ value: { enabled: true, everyDays: 14 }, updatedBy: 'alice' });
    // Off again: the scheduler must not verify during the rest of the test.
    await form.getByRole('checkbox', { name: 'Verify the backups on the storage location automatically' }).uncheck();
    await submitForm(page, 'Save Verification Schedule');
    await expect.poll(() => db().setting('verifySchedule')?.value).toEqual({ enabled: false, everyDays: 14 });
    await screenshot('7-schedule-form');
  });

  it('8. at 390 px: the history row with its verification, the details dialog and the schedule form stay on screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await gotoAndHydrate(page, `${server.url}/backup`);
    const main = await controlsOutside(page, 390);
    expect(main.outside).toEqual([]);
    expect(main.checked).toBeGreaterThan(10);
    await screenshot('8-narrow');
    await row().getByRole('button', { name: `Backup Details of ${run.fileName}` }).click();
    const dialog = page.getByRole('dialog', { name: `Backup Details: backup #${run.id}` });
    await dialog.getByTestId('verify-panel').getByTestId('verify-result').waitFor();
    const inDialog = await controlsOutside(page, 390, '[data-testid="run-details"]');
    expect(inDialog.outside).toEqual([]);
    expect(inDialog.checked).toBeGreaterThan(2);
    await screenshot('8-narrow-dialog');
  });
});
