import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import { ConsoleClient } from '../helpers/http-client';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server';
import { cleanUp, field, gotoAndHydrate, submitForm, submitLogin } from './harness';

/**
 * Alerts end to end, in Chromium, as an admin: an e-mail channel added on
 * Settings → Alerts (to a real SMTP server with STARTTLS and a login, its
 * self-signed certificate pasted as trusted), a wrong password found by
 * Send test and fixed through Edit, Send test again, then the storage
 * folder taken away: backups are refused and exactly one mail says so; the
 * folder back, a backup succeeds and one recovery mail follows.
 */
describe('Alerts: e-mail on failure and recovery', () => {
  let server: ConsoleServer;
  let browser: TestBrowser;
  let page: Page;
  let smtp: TestSmtpServer;
  let targetDir: string;
  let api: ConsoleClient;
  const admin = { username: 'alice', password: 'alice password 0001' };
  /** A mail's text with quoted-printable soft line breaks joined. */
  const text = (i: number) => smtp.messages[i]!.raw.replace(/=\r?\n/g, '');
  const subjects = () => smtp.messages.map((m) => /^Subject: (.*)$/m.exec(m.raw.replace(/\r?\n[ \t]+/g, ' '))?.[1] ?? '');

  beforeAll(async () => {
    targetDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-e2e-alerts-'));
    smtp = await startSmtpServer();
    server = await startConsole();
    const otp = new ConsoleClient(server.url);
    expect((await otp.signIn('otp', server.otpPassword!)).ok).toBe(true);
    expect((await otp.json('/api/users', 'POST', { username: admin.username, role: 'admin', password: admin.password, confirmPassword: admin.password })).status).toBe(200);
    api = new ConsoleClient(server.url);
    expect((await api.signIn(admin.username, admin.password)).ok).toBe(true);
    expect((await api.json('/api/backup/dms', 'PUT', { dms: 'correct horse battery staple 42', dmsRepeat: 'correct horse battery staple 42' })).status).toBe(200);
    expect((await api.json('/api/backup/storage', 'PUT', { type: 'local', path: targetDir })).status).toBe(200);
    browser = await launchBrowser();
    page = await (await browser.newContext()).newPage();
    // A phone-sized screen: the page must be usable at 390 px.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${server.url}/login`);
    await submitLogin(page, admin.username, admin.password);
    await page.waitForURL(`${server.url}/backup`);
  });

  afterAll(() =>
    cleanUp(
      () => browser?.close(),
      () => server?.stop(),
      () => smtp?.stop(),
      () => server && fs.rmSync(server.dataDir, { recursive: true, force: true }),
      () => targetDir && fs.rmSync(targetDir, { recursive: true, force: true }),
      () => targetDir && fs.rmSync(`${targetDir}.gone`, { recursive: true, force: true }),
    ),
  );

  it('adds an e-mail channel through the form (a field error first) and Send test delivers', async () => {
    await gotoAndHydrate(page, `${server.url}/settings/alerts`);
    await page.getByTestId('channels-empty').waitFor();
    // Nothing wider than the phone's screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await field(page, 'Name').fill('Ops mail');
    await field(page, 'SMTP server').fill('smtp://wrong');
    await submitForm(page, 'Add channel');
    const host = field(page, 'SMTP server');
    expect(await host.getAttribute('aria-invalid')).toBe('true');
    const describedBy = (await host.getAttribute('aria-describedby')) ?? '';
    expect(describedBy).toContain('host-error');
    expect(await page.locator('#host-error').textContent()).toMatch(/host name or an IP address/);

    await field(page, 'Name').fill('Ops mail');
    await host.fill('127.0.0.1');
    await page.getByRole('spinbutton', { name: 'Port' }).fill(String(smtp.port));
    await field(page, 'User name').fill(smtp.user);
    // A mistyped password first: Send test says why, and Edit fixes it.
    await page.locator('input#secret[type="password"]').fill('not the smtp password');
    await field(page, 'From').fill('webconf@example.test');
    await field(page, 'To').fill('ops@example.test');
    await page.getByLabel('Trusted certificate (PEM, optional)').fill(smtp.cert.certPem);
    await submitForm(page, 'Add channel');
    await page.getByText('Channel "Ops mail" added.', { exact: false }).waitFor();
    const channel = page.getByTestId('channel-Ops mail');
    await channel.waitFor();
    expect(await page.content()).not.toContain(smtp.password);

    const testResult = async () => (await channel.getByRole('status').textContent().catch(() => '')) ?? '';
    await channel.getByRole('button', { name: 'Send test' }).click();
    await expect.poll(testResult, { timeout: 30_000 }).toMatch(/^The SMTP server 127\.0\.0\.1:\d+ refused the login of \S+: wrong user name or password \(535\)\.$/);
    // Said once: the stored last error is not repeated under the test's own result.
    expect(await channel.getByText(/wrong user name or password/).count()).toBe(1);

    await channel.getByRole('button', { name: 'Edit' }).click();
    const edit = channel.getByRole('form', { name: 'Edit “Ops mail”' });
    await edit.waitFor();
    // The stored settings are in the form; the password is not, and an empty one would keep it.
    expect(await edit.getByRole('textbox', { name: 'To', exact: true }).inputValue()).toBe('ops@example.test');
    expect(await edit.locator('input[name="secret"]').inputValue()).toBe('');
    await edit.locator('input[name="secret"]').fill(smtp.password);
    await edit.getByRole('button', { name: 'Save channel' }).click();
    await page.getByText('Channel "Ops mail" saved.').waitFor();
    await edit.waitFor({ state: 'detached' });
    expect(await page.content()).not.toContain(smtp.password);
    expect(smtp.messages).toHaveLength(0);

    await channel.getByRole('button', { name: 'Send test' }).click();
    await expect.poll(testResult, { timeout: 30_000 }).toBe('Test message delivered.');
    await smtp.waitFor(1);
    expect(subjects()[0]).toMatch(/TEST: Test alert from Webconf/);
  });

  it('storage removed: backups refused, exactly one failure mail; storage back: a backup and one recovery mail', async () => {
    fs.renameSync(targetDir, `${targetDir}.gone`);
    for (let i = 0; i < 3; i++) {
      const r = await api.json<{ error?: { message: string } }>('/api/backups', 'POST');
      expect(r.status).toBe(409);
    }
    await smtp.waitFor(2, 60_000);
    expect(subjects()[1]).toMatch(/\] FAILING: The backup storage location is unavailable$/);
    expect(text(1)).toMatch(/Why: The console cannot write to Local folder /);
    expect(text(1)).toMatch(/When: \d{4}-\d\d-\d\dT/);
    expect(text(1)).toMatch(/What to do: /);
    // The page says what is failing.
    await gotoAndHydrate(page, `${server.url}/settings/alerts`);
    await page.getByTestId('failing-list').getByText('The backup storage location is unavailable').waitFor();

    fs.renameSync(`${targetDir}.gone`, targetDir);
    const started = await api.json<{ run: { id: number } }>('/api/backups', 'POST');
    expect(started.status).toBe(202);
    await smtp.waitFor(3, 60_000);
    expect(subjects()[2]).toMatch(/\] RECOVERED: The backup storage location is available again$/);
    expect(text(2)).toMatch(/Failing since: /);
    // Wait for the backup to end, then one more delivery pass: nothing else was sent.
    await expect
      .poll(async () => (await api.json<{ runs: { id: number; status: string }[] }>('/api/backups')).body.runs.find((r) => r.id === started.body.run.id)?.status, { timeout: 60_000 })
      .toBe('succeeded');
    await new Promise((r) => setTimeout(r, 11_000));
    expect(subjects()).toHaveLength(3);
  });
});
