import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import { cleanUp, controlsOutside, createAccountViaApi, expectFieldError, field, gotoAndHydrate, signInWithPassword, submitForm } from './harness';

/**
 * The API tokens page in Chromium on a phone-sized screen (390 px), as an
 * admin: the empty state, a field error tied to its field, a token issued
 * and shown once (working as a bearer token at once, gone after a reload),
 * the list with relative times (exact on hover), Revoke through the
 * console's own dialog (Cancel keeps it), and the revoked token refused.
 */
const WIDTH = 390;

describe('API tokens page', () => {
  let server: ConsoleServer;
  let browser: TestBrowser;
  let page: Page;
  const ada = { username: 'ada', password: 'ada password 000001' };
  const me = (token: string) => fetch(new URL('/api/me', server.url), { headers: { authorization: `Bearer ${token}` } });

  async function expectFits() {
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(WIDTH);
    expect((await controlsOutside(page, WIDTH)).outside).toEqual([]);
  }

  beforeAll(async () => {
    server = await startConsole();
    await createAccountViaApi(server.url, { username: 'otp', password: server.otpPassword! }, { ...ada, role: 'admin' });
    browser = await launchBrowser();
    page = await (await browser.newContext()).newPage();
    await page.setViewportSize({ width: WIDTH, height: 844 });
    await signInWithPassword(page, server.url, ada.username, ada.password);
  });
  afterAll(() => cleanUp(() => browser?.close(), () => server?.stop()));

  it('issue, shown once, listed, revoked in the dialog', async () => {
    await gotoAndHydrate(page, `${server.url}/settings/tokens`);
    await page.getByRole('heading', { name: 'API tokens', level: 1 }).waitFor();
    expect(await page.getByTestId('tokens-empty').textContent()).toMatch(/^No API tokens yet\. Issue one below/);
    await expectFits();

    await field(page, 'Name').fill('has space');
    await submitForm(page, 'Issue token');
    await expectFieldError(page, 'name', 'Use letters, digits, dot, dash or underscore, starting with a letter or digit.');
    expect(await page.getByTestId('new-token').count()).toBe(0);

    await field(page, 'Name').fill('backup-cron');
    await page.getByLabel('Role').selectOption('operator');
    await submitForm(page, 'Issue token');
    const token = ((await page.getByTestId('new-token-value').textContent()) ?? '').trim();
    expect(token).toMatch(/^wct_[A-Za-z0-9_-]{43}$/);
    expect(await page.getByTestId('new-token').textContent()).toContain('it is shown this once');
    await page.getByRole('button', { name: 'Copy the token' }).waitFor();
    await expectFits();
    expect(await (await me(token)).json()).toEqual({ username: 'token:backup-cron', role: 'operator', kind: 'token' });

    await gotoAndHydrate(page, `${server.url}/settings/tokens`);
    expect(await page.content()).not.toContain(token);
    const row = page.getByTestId('token-backup-cron');
    expect(await row.textContent()).toContain(`${token.slice(0, 12)}…`);
    const times = row.locator('time');
    expect(await times.count()).toBe(2); // issued, last used
    expect(await times.first().getAttribute('title')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    expect(await times.first().textContent()).toMatch(/ago|just now/);

    await row.getByRole('button', { name: 'Revoke backup-cron' }).click();
    const dialog = page.getByTestId('revoke-dialog');
    await dialog.waitFor();
    expect(await dialog.getByRole('heading').textContent()).toBe('Revoke the token “backup-cron”?');
    await expectFits();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect((await me(token)).status).toBe(200);

    await row.getByRole('button', { name: 'Revoke backup-cron' }).click();
    await dialog.waitFor();
    const answered = page.waitForResponse((r) => r.request().method() === 'POST' && 'next-action' in r.request().headers());
    await dialog.getByRole('button', { name: 'Revoke', exact: true }).click();
    await answered;
    await dialog.waitFor({ state: 'detached' });
    await page.getByText('Token "backup-cron" revoked.', { exact: false }).waitFor();
    await row.getByText('Revoked', { exact: true }).waitFor();
    expect(await row.getByRole('button', { name: 'Revoke backup-cron' }).count()).toBe(0);
    const refused = await me(token);
    expect(refused.status).toBe(401);
    await expectFits();
  });
});
