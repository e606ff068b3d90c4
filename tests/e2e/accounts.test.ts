import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import { cleanUp, consoleDb, controlsOutside, createAccountViaApi, gotoAndHydrate, signInWithPassword, submitForm, waitForHydration, whoami } from './harness';

/**
 * Account management in Chromium: the admin changes a user's role on the
 * Users page (390 px wide) through the console's own dialog while that user
 * has the console open in another browser context; the user's next request
 * lands on sign-in with a message, and signing in again gives the new role.
 * A password reset with bad input says why at the field and changes nothing;
 * a user changes their own password on My account.
 */
const WIDTH = 390;

describe('account management', () => {
  let server: ConsoleServer;
  let browser: TestBrowser;
  let adminPage: Page;
  let samPage: Page;
  const ada = { username: 'ada', password: 'ada password 000001' };
  const sam = { username: 'sam', password: 'sam password 000001' };
  const row = () => adminPage.getByTestId(`user-${sam.username}`);
  const samRow = () => consoleDb(server.dataDir).query<{ role: string; password_hash: string; last_login_ip: string | null }>('select role, password_hash, last_login_ip from users where username = ?', sam.username)[0]!;

  async function expectFits() {
    expect(await adminPage.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(WIDTH);
    expect((await controlsOutside(adminPage, WIDTH)).outside).toEqual([]);
  }

  beforeAll(async () => {
    server = await startConsole();
    await createAccountViaApi(server.url, { username: 'otp', password: server.otpPassword! }, { ...ada, role: 'admin' });
    await createAccountViaApi(server.url, ada, { ...sam, role: 'support' });
    browser = await launchBrowser();
    adminPage = await (await browser.newContext()).newPage();
    await adminPage.setViewportSize({ width: WIDTH, height: 844 });
    await signInWithPassword(adminPage, server.url, ada.username, ada.password);
    samPage = await (await browser.newContext()).newPage();
    await signInWithPassword(samPage, server.url, sam.username, sam.password);
  });
  afterAll(() => cleanUp(() => browser?.close(), () => server?.stop()));

  it('the Users page at 390 px: each account with its last sign-in and its controls', async () => {
    await gotoAndHydrate(adminPage, `${server.url}/users`);
    const last = row().getByTestId('last-sign-in');
    expect(await last.textContent()).toMatch(/^Last sign-in: (just now|\d+ seconds? ago) from 127\.0\.0\.1$/);
    expect(await last.locator('time').getAttribute('title')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    for (const name of ['Change role…', 'Reset password…', 'Disable…', 'Delete…']) await row().getByRole('button', { name }).waitFor();
    // Nobody changes their own account here.
    expect(await adminPage.getByTestId(`user-${ada.username}`).getByRole('button').count()).toBe(0);
    await expectFits();
  });

  it("a role change ends the user's open session: their next request lands on sign-in with a message", async () => {
    await samPage.getByRole('heading', { name: 'Backup', level: 1 }).waitFor();
    expect(await whoami(samPage)).toBe('sam Support');

    await row().locator('select[name="role"]').selectOption('operator');
    await row().getByRole('button', { name: 'Change role…' }).click();
    const dialog = adminPage.getByRole('dialog', { name: `Change the role of ${sam.username}?` });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('Support → Operator. Their open sessions end at once');
    await expectFits();
    // Cancel changes nothing.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(samRow().role).toBe('support');
    expect(await row().locator('select[name="role"]').inputValue()).toBe('support');

    await row().locator('select[name="role"]').selectOption('operator');
    await row().getByRole('button', { name: 'Change role…' }).click();
    await dialog.getByRole('button', { name: 'Make Operator' }).click();
    await row().getByText(`"${sam.username}" now has the Operator role. Their open session was ended.`).waitFor();
    expect(await row().getByTestId('role').textContent()).toBe('Operator');
    expect(samRow().role).toBe('operator');

    // Sam's tab is still open; the next click goes to sign-in, saying why.
    await samPage.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Managed devices' }).click();
    await samPage.waitForURL(/\/login\?error=SessionRevoked/);
    expect(await samPage.getByTestId('login-error').textContent()).toContain('Your session was ended: an admin changed your account');
    await signInWithPassword(samPage, server.url, sam.username, sam.password);
    expect(await whoami(samPage)).toBe('sam Operator');
    expect(consoleDb(server.dataDir).audit('user.role.change').map((e) => [e.actor_name, e.target, e.outcome])).toEqual([[ada.username, sam.username, 'success']]);
  });

  it('a password reset with bad input says why at the field and changes nothing', async () => {
    const before = samRow().password_hash;
    await row().getByRole('button', { name: 'Reset password…' }).click();
    const dialog = adminPage.getByRole('dialog', { name: `Reset the password of ${sam.username}?` });
    await dialog.waitFor();
    await dialog.locator('input[name="password"]').fill('short');
    await dialog.locator('input[name="confirmPassword"]').fill('short');
    await dialog.getByRole('button', { name: 'Set the new password' }).click();
    const input = dialog.locator('input[name="password"]');
    await expect.poll(() => input.getAttribute('aria-invalid')).toBe('true');
    const described = (await input.getAttribute('aria-describedby'))!.split(' ');
    const texts = await Promise.all(described.map((id) => adminPage.locator(`[id="${id}"]`).textContent()));
    expect(texts).toContain('A password has at least 12 characters.');
    expect(samRow().password_hash).toBe(before);
    await expectFits();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
  });

  it('a user changes their own password on My account; a wrong current password is told at its field', async () => {
    await gotoAndHydrate(samPage, `${server.url}/account`);
    await samPage.getByRole('heading', { name: 'My account', level: 1 }).waitFor();
    const before = samRow().password_hash;
    await samPage.locator('input[name="currentPassword"]').fill('not the password 0');
    await samPage.locator('input[name="password"]').fill('sam new password 0002');
    await samPage.locator('input[name="confirmPassword"]').fill('sam new password 0002');
    await submitForm(samPage, 'Change password');
    await expect.poll(() => samPage.locator('[name="currentPassword"]').getAttribute('aria-invalid')).toBe('true');
    expect(await samPage.locator('[id="currentPassword-error"]').textContent()).toBe('The current password is wrong.');
    expect(samRow().password_hash).toBe(before);

    await samPage.locator('input[name="currentPassword"]').fill(sam.password);
    await samPage.locator('input[name="password"]').fill('sam new password 0002');
    await samPage.locator('input[name="confirmPassword"]').fill('sam new password 0002');
    await submitForm(samPage, 'Change password');
    await samPage.getByText('Your password was changed.').waitFor();
    expect(samRow().password_hash).not.toBe(before);
    // Still signed in here.
    await samPage.reload();
    await waitForHydration(samPage);
    await samPage.getByRole('heading', { name: 'My account', level: 1 }).waitFor();
  });
});
