import fs from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import { cleanUp, consoleDb, createAccountViaApi, signInWithPassword, whoami } from './harness';

/** What a page's own script gets back when it writes to the console's API (the browser adds Origin itself). */
async function fetchFromPage(page: Page, method: string, pathname: string, body?: unknown) {
  return page.evaluate(
    async ({ method, pathname, body }) => {
      const res = await fetch(pathname, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } };
    },
    { method, pathname, body },
  );
}

/** The Support role reads and changes nothing, whichever way it tries. */
describe('support user: read-only', () => {
  let server: ConsoleServer;
  let browser: TestBrowser;
  let supportPage: Page;
  let adminPage: Page;
  const admin = { username: 'alice', password: 'correct-horse-battery-1' };
  const support = { username: 'sam', displayName: 'Sam Support', password: 'support-password-42' };

  beforeAll(async () => {
    server = await startConsole();
    browser = await launchBrowser();
    await createAccountViaApi(server.url, { username: 'otp', password: server.otpPassword! }, { ...admin, role: 'admin' });
  });

  afterAll(() =>
    cleanUp(
      () => browser?.close(),
      () => server?.stop(),
      () => server && fs.rmSync(server.dataDir, { recursive: true, force: true }),
    ),
  );

  it('the admin sets a Backup Filename prefix and creates the support user', async () => {
    adminPage = await (await browser.newContext()).newPage();
    await signInWithPassword(adminPage, server.url, admin.username, admin.password);
    const saved = await fetchFromPage(adminPage, 'PUT', '/api/backup/settings', { filenamePrefix: 'appliance-01' });
    expect(saved.status).toBe(200);
    await createAccountViaApi(server.url, admin, { ...support, role: 'support' });
    expect(consoleDb(server.dataDir).users().find((u) => u.username === support.username)).toMatchObject({ role: 'support', kind: 'local' });
  });

  it('the Backup page shows the settings read-only', async () => {
    supportPage = await (await browser.newContext()).newPage();
    await signInWithPassword(supportPage, server.url, support.username, support.password);
    expect(await whoami(supportPage)).toBe('Sam Support Support');

    expect(await supportPage.getByTestId('current-status').textContent()).toBe('NOT RUNNING');
    expect(await supportPage.getByTestId('prefix-readonly').textContent()).toBe('appliance-01');
    expect(await supportPage.getByText('Only an admin can change backup settings.').count()).toBe(1);
    expect(await supportPage.locator('input, select, textarea').count(), 'no form field at all').toBe(0);
    expect(await supportPage.getByRole('button', { name: 'Save Settings' }).count()).toBe(0);
    const nav = supportPage.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link').allTextContents()).toEqual(['Backup', 'Managed devices', 'My account']);
  });

  it.each([
    ['/users', 'User accounts', 'The Support role cannot create user accounts.'],
    ['/settings/sign-in', 'Sign-in settings', 'The Support role cannot configure sign-in.'],
    ['/audit', 'Audit trail', 'The Support role cannot read the audit trail.'],
  ])('%s shows a refusal', async (pathname, title, message) => {
    await supportPage.goto(`${server.url}${pathname}`);
    expect(new URL(supportPage.url()).pathname).toBe(pathname);
    expect(await supportPage.getByRole('heading', { level: 1 }).textContent()).toBe(title);
    expect(await supportPage.getByTestId('refused').textContent()).toBe(message);
    expect(await supportPage.locator('main table, main form').count(), 'nothing of the page itself').toBe(0);
  });

  it('direct API writes from the page are refused with 403, and nothing changes', async () => {
    const before = consoleDb(server.dataDir);
    const usersBefore = before.users();
    const settingBefore = before.setting('backup');

    const put = await fetchFromPage(supportPage, 'PUT', '/api/backup/settings', { filenamePrefix: 'support-was-here' });
    expect(put).toEqual({ status: 403, body: { error: { code: 'forbidden', message: 'The Support role cannot change backup settings.' } } });

    const create = await fetchFromPage(supportPage, 'POST', '/api/users', {
      username: 'mallory', role: 'admin', password: 'mallory-password-1', confirmPassword: 'mallory-password-1',
    });
    expect(create.status).toBe(403);
    const adminId = usersBefore.find((u) => u.username === admin.username)!.id;
    const del = await fetchFromPage(supportPage, 'DELETE', `/api/users/${adminId}`);
    expect(del.status).toBe(403);

    const after = consoleDb(server.dataDir);
    expect(after.setting('backup')).toEqual(settingBefore);
    expect(after.users()).toEqual(usersBefore);
    expect(after.audit().filter((e) => e.actor_name === support.username && e.outcome === 'denied').map((e) => e.action)).toEqual(
      expect.arrayContaining(['api.backup.settings.save', 'api.users.create', 'api.users.delete']),
    );
  });

  it('the same write from the admin\'s page is accepted (the 403 was the role, not the request)', async () => {
    const put = await fetchFromPage(adminPage, 'PUT', '/api/backup/settings', { filenamePrefix: 'appliance-02' });
    expect(put.status).toBe(200);
    expect(consoleDb(server.dataDir).setting('backup')?.value).toMatchObject({ filenamePrefix: 'appliance-02' });
  });
});
