import fs from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OTP_BACKUP_GUIDANCE } from '@/lib/auth/roles';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import { cleanUp, consoleDb, field, fileMode, gotoAndHydrate, signInWithPassword, submitForm, submitLogin, whoami } from './harness';

/**
 * The appliance's first start, as the seed describes it: the OTP User signs
 * in, is told that backups need an OAuth user, creates an admin OAuth user;
 * the admin signs in and removes the OTP User.
 */
describe('first start: OTP User, admin OAuth user, OTP User removed', () => {
  let server: ConsoleServer;
  let browser: TestBrowser;
  let otpContext: BrowserContext;
  let otpPage: Page;
  let adminPage: Page;
  const admin = { username: 'alice', displayName: 'Alice Admin', password: 'correct-horse-battery-1' };

  beforeAll(async () => {
    server = await startConsole();
    browser = await launchBrowser();
  });

  afterAll(() =>
    cleanUp(
      () => browser?.close(),
      () => server?.stop(),
      () => server && fs.rmSync(server.dataDir, { recursive: true, force: true }),
    ),
  );

  it('prints the OTP password once at first start and keeps it in a 0600 file', () => {
    const out = server.output();
    expect(out).toContain('Webconf first start: the OTP User was created.');
    expect(out).toContain('Username: otp');
    expect(server.otpPassword).toMatch(/^[a-zA-Z2-9]{20}$/);
    expect(out.split(server.otpPassword!).length - 1, 'the password is printed exactly once').toBe(1);

    const file = path.join(server.dataDir, 'otp-password.txt');
    expect(fileMode(file)).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8').trim()).toBe(server.otpPassword);
    expect(out).toContain(file);
  });

  it('the OTP User signs in and is told on the Backup page how to get to a backup', async () => {
    otpContext = await browser.newContext();
    otpPage = await otpContext.newPage();
    await signInWithPassword(otpPage, server.url, 'otp', server.otpPassword!);
    expect(await whoami(otpPage)).toBe('OTP User OTP User');

    const banner = otpPage.getByTestId('otp-guidance');
    await expect.poll(() => banner.isVisible()).toBe(true);
    const text = (await banner.textContent()) ?? '';
    // The seed's own sentences.
    expect(text).toContain('To create a backup, make sure not to be logged into Webconf as an OTP User.');
    expect(text).toMatch(/log in as OAuth User and remove the OTP User/i);
    expect(text).toContain(OTP_BACKUP_GUIDANCE);
    // The banner leads to where the OAuth user is created.
    expect(await banner.getByRole('link', { name: 'Create an OAuth user account' }).getAttribute('href')).toBe('/users');
    // No backup data for the OTP User.
    expect(await otpPage.getByRole('table', { name: 'Backup Status Information' }).count()).toBe(0);
  });

  it('the OTP User is shown no backup form it would be refused (the action itself refuses it: access matrix)', async () => {
    expect(await otpPage.getByRole('button', { name: 'Save Settings' }).count()).toBe(0);
    expect(await field(otpPage, 'Backup Filename Prefix').count()).toBe(0);
    expect(consoleDb(server.dataDir).setting('backup')).toBeUndefined();
  });

  it('the OTP User creates an admin OAuth user on User accounts', async () => {
    await otpPage.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'User accounts' }).click();
    await otpPage.waitForURL(`${server.url}/users`);
    await otpPage.getByRole('heading', { name: 'Create OAuth user account' }).waitFor();
    // The OTP User may only create accounts: no account list, no Remove OTP User.
    expect(await otpPage.getByRole('button', { name: 'Remove OTP User' }).count()).toBe(0);

    await field(otpPage, 'Username').fill(admin.username);
    await field(otpPage, 'Display name (optional)').fill(admin.displayName);
    await otpPage.getByRole('combobox', { name: 'Role', exact: true }).selectOption('admin');
    await field(otpPage, 'Password').fill(admin.password);
    await field(otpPage, 'Repeat password').fill(admin.password);
    await otpPage.getByRole('button', { name: 'Create account' }).click();
    await otpPage.getByText(`Account "${admin.username}" (admin) created. It can sign in now.`).waitFor();

    const row = consoleDb(server.dataDir).users().find((u) => u.username === admin.username);
    expect(row).toMatchObject({ kind: 'local', role: 'admin', display_name: admin.displayName });
  });

  it('the admin signs in with a password and removes the OTP User', async () => {
    const ctx = await browser.newContext();
    adminPage = await ctx.newPage();
    await signInWithPassword(adminPage, server.url, admin.username, admin.password);
    expect(await whoami(adminPage)).toBe('Alice Admin Admin');

    await gotoAndHydrate(adminPage, `${server.url}/users`);
    expect(await adminPage.getByTestId('user-otp').count()).toBe(1);
    // The removal asks for confirmation first, in the console's own dialog.
    await adminPage.getByRole('button', { name: 'Remove OTP User' }).click();
    const dialog = adminPage.getByRole('dialog', { name: 'Remove the OTP User?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Remove the OTP User' }).click();
    await adminPage.getByTestId('user-otp').waitFor({ state: 'detached' });
    expect(await adminPage.getByRole('button', { name: 'Remove OTP User' }).count()).toBe(0);

    const db = consoleDb(server.dataDir);
    expect(db.users().map((u) => u.username)).toEqual([admin.username]);
    expect(fs.existsSync(path.join(server.dataDir, 'otp-password.txt')), 'the OTP password file goes with the OTP User').toBe(false);
    expect(db.audit('account.otp.remove').map((e) => [e.actor_name, e.outcome])).toEqual([[admin.username, 'success']]);
  });

  it('the OTP User can no longer sign in, and its open session is gone', async () => {
    // The session opened before the removal no longer reaches the console.
    await otpPage.goto(`${server.url}/backup`);
    await otpPage.waitForURL(/\/login/);

    const fresh = await (await browser.newContext()).newPage();
    await gotoAndHydrate(fresh, `${server.url}/login`);
    await submitLogin(fresh, 'otp', server.otpPassword!);
    await fresh.getByTestId('login-error').filter({ hasText: 'Wrong username or password.' }).waitFor();
    expect(new URL(fresh.url()).pathname).toBe('/login');
    await otpContext.close();
  });

  it('with the OTP User gone, the admin sees the Backup page without the guidance and can save settings', async () => {
    await gotoAndHydrate(adminPage, `${server.url}/backup`);
    expect(await adminPage.getByTestId('otp-guidance').count()).toBe(0);
    expect(await adminPage.getByTestId('current-status').textContent()).toBe('NOT RUNNING');
    expect(await adminPage.getByTestId('next-run').textContent()).toContain('Schedule Disabled');

    await field(adminPage, 'Backup Filename Prefix').fill('appliance-01');
    await adminPage.getByRole('button', { name: 'Save Settings' }).click();
    await adminPage.getByText('Backup settings saved.').waitFor();
    expect(consoleDb(server.dataDir).setting('backup')).toMatchObject({ value: { filenamePrefix: 'appliance-01' }, updatedBy: admin.username });

    await adminPage.screenshot({ path: '/tmp/webconf-backup.png', fullPage: true });
  });
});
