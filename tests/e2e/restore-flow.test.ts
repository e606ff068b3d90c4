import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import { appliance, applianceJson } from '../helpers/restore-cli';
import { cleanUp, createAccountViaApi, field, signInWithPassword, submitLogin } from './harness';

/**
 * Restore end to end in Chromium. Appliance A (prepared through the
 * console's own code: accounts, sign-in, DMS, storage, schedule, retention,
 * a backup, then everything changed): an admin verifies the backup, runs the
 * dry-run from the history, reads the plan, confirms by typing the name, is
 * sent to sign in again and finds the restored state. A fresh appliance B:
 * the OTP user makes an admin, who uploads A's backup file, is asked for the
 * DMS, enters it, restores, and signs in with A's account.
 */
const DMS = 'e2e restore domain master secret';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-e2e-restore-'));
const storage = path.join(tmp, 'storage');
const dataA = path.join(tmp, 'a');
let browser: TestBrowser;
let a: ConsoleServer;
let b: ConsoleServer | undefined;
let backup: { id: number; fileName: string };

beforeAll(async () => {
  fs.mkdirSync(storage);
  const env = { WEBCONF_DATA_DIR: dataA, WEBCONF_APPLIANCE_NAME: 'e2e-a', TEST_DMS: DMS };
  expect((await appliance(['configure', 'a', storage], env)).code).toBe(0);
  backup = await applianceJson(['backup'], env);
  expect((await appliance(['configure', 'b', storage], env)).code).toBe(0);
  a = await startConsole({ dataDir: dataA, keepDataDir: true, env: { WEBCONF_APPLIANCE_NAME: 'e2e-a' } });
  browser = await launchBrowser();
}, 300_000);
afterAll(() => cleanUp(() => browser?.close(), () => a?.stop(), () => b?.stop(), () => fs.rmSync(tmp, { recursive: true, force: true })));

async function restoreAndSignIn(page: Page, server: ConsoleServer, name: string) {
  const confirm = page.getByRole('textbox', { name: `Type the appliance name, ${name}, to confirm` });
  const restore = page.getByRole('button', { name: `Restore ${name}` });
  await confirm.fill('not the name');
  expect(await restore.isDisabled()).toBe(true);
  await confirm.fill(name);
  await restore.click();
  await page.getByTestId('restore-progress').waitFor();
  // Every session ends with the restore: the page sends the admin to sign in again.
  await page.waitForURL(`${server.url}/login?restored=1`, { timeout: 120_000 });
  expect(await page.getByTestId('restored-notice').textContent()).toBe('The appliance was restored from a backup. Sign in with an account of the restored state.');
  await submitLogin(page, 'admin-a', 'pass-a-0123456789');
  await page.waitForURL(`${server.url}/backup`);
  const last = page.getByTestId('last-restore');
  await expect.poll(async () => (await last.count()) && (await last.textContent()), { timeout: 60_000 }).toMatch(/^Last restore: Restored.*Restored .*\.tar\.age/);
}

describe('restore in the browser', () => {
  it('on the appliance that made it: verify, dry-run, plan, confirm, restored state', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    try {
      await signInWithPassword(page, a.url, 'admin-b', 'pass-b-0123456789');
      const cell = page.getByTestId(`run-${backup.id}-verification`);
      await cell.getByRole('button', { name: `Full verify of ${backup.fileName}` }).click();
      await expect.poll(() => cell.getByTestId('verify-result').textContent(), { timeout: 60_000 }).toBe('Verified (full) just now');

      await page.getByTestId(`run-${backup.id}-restore`).click();
      await page.waitForURL(/restore=/);
      const section = page.getByTestId('restore-section');
      expect(await section.getByRole('combobox', { name: 'Backup' }).inputValue()).toBe(backup.fileName);
      await section.getByRole('button', { name: 'Check the backup (dry-run)' }).click();
      const plan = section.getByTestId('restore-plan');
      await plan.waitFor({ timeout: 60_000 });
      expect(await plan.getByTestId('plan-file').textContent()).toContain(backup.fileName);
      expect(await plan.getByTestId('plan-appliance').textContent()).toMatch(/^e2e-a \(/);
      expect(await plan.getByTestId('plan-ok').textContent()).toBe('It can be restored on this appliance.');
      const accounts = await plan.getByTestId('plan-change-accounts').textContent();
      expect(accounts).toMatch(/Now: .*admin-b \(admin\)/);
      expect(accounts).toMatch(/After: admin-a \(admin\), ops-a \(operator\)$/);
      expect(await plan.getByTestId('plan-change-schedule').textContent()).toMatch(/After: Daily at 02:30 \(UTC\)/);
      await restoreAndSignIn(page, a, 'e2e-a');
      // The restored state: the backup's prefix, and its accounts only.
      expect(await page.getByRole('textbox', { name: 'Backup Filename Prefix' }).inputValue()).toBe('site-a');
      await page.goto(`${a.url}/users`);
      const users = (await page.locator('main').textContent()) ?? '';
      expect(users).toContain('admin-a');
      expect(users).not.toContain('admin-b');
    } finally {
      await ctx.close();
    }
  });

  it('a fresh appliance: upload the backup file, enter the DMS, restore, sign in with the backup’s account', async () => {
    b = await startConsole({ env: { WEBCONF_APPLIANCE_NAME: 'e2e-b' } });
    await createAccountViaApi(b.url, { username: 'otp', password: b.otpPassword! }, { username: 'first-admin', password: 'first admin password 1', role: 'admin' });
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    try {
      await signInWithPassword(page, b.url, 'first-admin', 'first admin password 1');
      const section = page.getByTestId('restore-section');
      expect(await section.getByTestId('restore-no-backups').textContent()).toMatch(/No backup on the storage location yet/);
      await section.getByRole('radio', { name: 'An uploaded backup file' }).check();
      await section.getByLabel('Backup file (.tar.age)').setInputFiles(path.join(storage, backup.fileName));
      await expect.poll(() => section.getByTestId('uploaded').count(), { timeout: 60_000 }).toBe(1);
      await section.getByRole('button', { name: 'Check the backup (dry-run)' }).click();
      // No DMS here yet: the field asks for the backup's.
      const dms = page.getByLabel('Domain Master Secret of the backup');
      await dms.waitFor();
      await expect.poll(() => dms.getAttribute('aria-invalid')).toBe('true');
      expect(await page.locator('#restore-dms-error').textContent()).toMatch(/enter the one the backup was made with/);
      await dms.fill('a wrong secret');
      await section.getByRole('button', { name: 'Check the backup (dry-run)' }).click();
      await expect.poll(() => page.locator('#restore-dms-error').textContent(), { timeout: 30_000 }).toMatch(/does not open this backup/);
      await dms.fill(DMS);
      await section.getByRole('button', { name: 'Check the backup (dry-run)' }).click();
      const plan = section.getByTestId('restore-plan');
      await plan.waitFor({ timeout: 60_000 });
      expect(await plan.getByTestId('plan-warnings').textContent()).toMatch(/made on another appliance \(e2e-a/);
      // The plan names the uploaded file by its own name; the typed secret is nowhere in the page's markup.
      expect(await plan.getByTestId('plan-file').textContent()).toContain(backup.fileName);
      expect(await page.content()).not.toContain(DMS);
      await restoreAndSignIn(page, b, 'e2e-b');
      expect(await page.getByTestId('dms-set').textContent()).toBe('DOMAIN MASTER SECRET IS SET.');
      expect(await page.getByTestId('last-restore').textContent()).toMatch(/OpenID Connect client secret was sealed by another appliance/);
    } finally {
      await ctx.close();
    }
  });
});
