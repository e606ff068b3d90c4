import fs from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import { cleanUp, createAccountViaApi, gotoAndHydrate, signInWithPassword } from './harness';

/**
 * Issue 12 as a new user meets it, in Chromium: the OTP user sees only what it
 * may do, support is told why there is no Backup now, the schedule's next runs
 * follow the form before saving, time zones are searched by current names, an
 * unknown URL has the console's page, and the audit trail is filtered.
 */
describe('audit trail and first use', () => {
  let server: ConsoleServer;
  let browser: TestBrowser;
  let adminPage: Page;
  const admin = { username: 'alice', password: 'correct-horse-battery-1' };
  const support = { username: 'sam', password: 'support-password-42' };

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

  it('the OTP user is shown the guidance and no form it would be refused', async () => {
    const page = await (await browser.newContext()).newPage();
    await signInWithPassword(page, server.url, 'otp', server.otpPassword!);
    await page.getByTestId('otp-guidance').waitFor();
    expect(await page.getByRole('button', { name: 'Save Settings' }).count()).toBe(0);
    expect(await page.getByRole('heading', { name: 'Backup Settings' }).count()).toBe(0);
    expect(await page.getByRole('textbox').count()).toBe(0);
  });

  it('the OTP user creates the admin, who creates a support user', async () => {
    await createAccountViaApi(server.url, { username: 'otp', password: server.otpPassword! }, { ...admin, role: 'admin' });
    await createAccountViaApi(server.url, admin, { ...support, role: 'support' });
  });

  it('support is told why there is no Backup now button, and is refused the audit trail', async () => {
    const page = await (await browser.newContext()).newPage();
    await signInWithPassword(page, server.url, support.username, support.password);
    const note = page.getByTestId('backup-now-not-allowed');
    await note.waitFor();
    expect(await note.textContent()).toMatch(/Support role can read the status and history but not start a backup/);
    expect(await page.getByRole('button', { name: 'Backup now' }).count()).toBe(0);
    await page.goto(`${server.url}/audit`);
    await page.getByText('The Support role cannot read the audit trail.').waitFor();
  });

  it('next runs follow the schedule form as it is edited, before saving', async () => {
    adminPage = await (await browser.newContext()).newPage();
    await signInWithPassword(adminPage, server.url, admin.username, admin.password);
    const form = adminPage.getByRole('form', { name: 'Automated Backup Schedule' });
    await form.getByRole('checkbox', { name: 'Run automated backups' }).check();
    const runs = form.getByTestId('next-runs');
    await form.getByRole('textbox', { name: 'Time (HH:MM, 24-hour)' }).fill('03:15');
    await expect.poll(async () => (await runs.textContent()) ?? '').toMatch(/03:15.*03:15.*03:15/);
    await form.getByRole('textbox', { name: 'Time (HH:MM, 24-hour)' }).fill('04:45');
    await expect.poll(async () => (await runs.textContent()) ?? '').toMatch(/04:45.*\(UTC\)/);
    // The saved state is told apart from the ticked box being edited.
    expect(await form.getByText('Saved schedule:').textContent()).toBe('Saved schedule: Automated backups are turned off.');
    await form.getByRole('textbox', { name: 'Time (HH:MM, 24-hour)' }).fill('25:00');
    // An impossible time is said at once, before Save.
    await expect
      .poll(async () => (await form.getByTestId('next-runs-none').textContent()) ?? '')
      .toBe('Next runs appear when the schedule is complete and valid: Enter a time as HH:MM, 00:00 to 23:59.');
    await form.getByRole('textbox', { name: 'Time (HH:MM, 24-hour)' }).fill('04:45');
    // Nothing was saved by editing.
    const saved = await adminPage.evaluate(async () => (await (await fetch('/api/backup/schedule')).json()) as { schedule: { enabled: boolean } });
    expect(saved.schedule.enabled).toBe(false);
  });

  it('the time-zone search finds Kolkata under its current name', async () => {
    const form = adminPage.getByRole('form', { name: 'Automated Backup Schedule' });
    const select = form.getByRole('combobox', { name: 'Time zone', exact: true });
    expect(await select.locator('option[value="Asia/Calcutta"]').count()).toBe(0);
    expect(await select.locator('option[value="Europe/Kyiv"]').count()).toBe(1);
    // A search that finds nothing says so, and leaves the choice as it was.
    const before = await select.inputValue();
    await form.getByRole('searchbox', { name: 'Search time zones' }).fill('atlantisville');
    await form.getByText('No time zone matches “atlantisville”. Try a city or region name, such as Kolkata or Europe.').waitFor();
    expect(await select.inputValue()).toBe(before);
    await form.getByRole('searchbox', { name: 'Search time zones' }).fill('kolkata');
    await expect.poll(() => select.inputValue()).toBe('Asia/Kolkata');
    await form.getByText('1 time zone match.').waitFor();
    expect(await select.locator('option').allTextContents()).toEqual(['Asia/Kolkata']);
    await expect.poll(async () => (await form.getByTestId('next-runs').textContent()) ?? '').toMatch(/04:45 \(Asia\/Kolkata\)/);
  });

  it('an unknown URL has the console’s not-found page with a way back', async () => {
    const res = await adminPage.goto(`${server.url}/no-such-page`);
    expect(res?.status()).toBe(404);
    await adminPage.getByRole('heading', { name: 'Page not found' }).waitFor();
    await adminPage.getByRole('link', { name: 'Go to the Backup page' }).click();
    await adminPage.waitForURL(`${server.url}/backup`);
    expect(await adminPage.locator('link[rel="icon"]').getAttribute('href')).toMatch(/favicon\.svg/);
    const icon = await adminPage.request.get(`${server.url}/favicon.svg`);
    expect(icon.status()).toBe(200);
  });

  it('the admin filters the audit trail on the page and exports it', async () => {
    await adminPage.setViewportSize({ width: 390, height: 800 });
    await gotoAndHydrate(adminPage, `${server.url}/audit`);
    const entries = adminPage.getByTestId('audit-entry');
    expect(await entries.count()).toBeGreaterThan(3);
    await adminPage.getByRole('combobox', { name: 'User' }).fill(support.username);
    await adminPage.getByRole('combobox', { name: 'Outcome' }).selectOption({ label: 'Refused' });
    await adminPage.getByRole('button', { name: 'Filter' }).click();
    await adminPage.waitForURL(/user=sam/);
    const texts = await entries.allTextContents();
    expect(texts.length).toBeGreaterThan(0);
    for (const t of texts) expect(t).toMatch(/sam was refused the page \/audit: their role may not read the audit trail/);
    expect(texts.join('')).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    expect(texts.join('')).toMatch(/Refused/);
    const href = await adminPage.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    expect(href).toBe('/api/audit/export?user=sam&outcome=denied');
    const csv = await (await adminPage.request.get(`${server.url}${href}`)).text();
    expect(csv.split('\r\n').filter(Boolean)).toHaveLength(texts.length + 1);

    await adminPage.getByRole('combobox', { name: 'Outcome' }).selectOption({ label: 'Done' });
    await adminPage.getByRole('combobox', { name: 'User' }).fill('nobody-here');
    await adminPage.getByRole('button', { name: 'Filter' }).click();
    await adminPage.getByText('No entry matches this filter.', { exact: false }).waitFor();
    // Fits 390 px: nothing wider than the screen.
    expect(await adminPage.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  });
});
