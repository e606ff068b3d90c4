import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import { cleanUp, clickBackupNow } from './harness';
import { ConsoleClient } from '../helpers/http-client';

/**
 * The Backup page end to end, in Chromium, as an admin: from a new appliance
 * (Schedule Disabled, no DMS) through Set Domain Master Secret (bad input
 * first), the Backup Filename prefix, a local storage folder and a daily
 * schedule, to a "Backup now" of some hundred megabytes whose progress the
 * status panel shows live, without a page reload, and the verified file on
 * the storage folder.
 *
 * Screenshots: set WEBCONF_E2E_SCREENSHOTS to a folder to keep PNGs of the
 * page (idle, during the run, after it).
 */
const SCREENSHOTS = process.env.WEBCONF_E2E_SCREENSHOTS;
/** Random (incompressible) configuration data, so that the run lasts a few seconds (the engine writes ~0.3-0.5 GB/s here). */
const BULK_FILES = 12;
const BULK_FILE_BYTES = 120 * 1024 * 1024;
const PREFIX = 'site-e2e';
const DMS = 'correct horse battery staple 42';
/** Asia/Tokyo: far from UTC and without daylight saving time, so the next run is exact. */
const TIME_ZONE = 'Asia/Tokyo';

describe('Backup page: configure, then Backup now with live progress', () => {
  let server: ConsoleServer;
  let browser: TestBrowser;
  let page: Page;
  let targetDir: string;
  const admin = { username: 'alice', password: 'alice password 0001' };

  /** Read-only queries on the console's database (opened per call: the server writes in between). */
  function query<T>(sql: string, ...params: unknown[]): T[] {
    const sqlite = new Database(path.join(server.dataDir, 'webconf.db'), { readonly: true, fileMustExist: true });
    try {
      return sqlite.prepare(sql).all(...params) as T[];
    } finally {
      sqlite.close();
    }
  }

  /** Waits until React has hydrated every form, so clicks run the app's handlers. */
  async function hydrated(): Promise<void> {
    await page.waitForFunction(() => {
      const forms = Array.from(document.querySelectorAll('form'));
      return forms.length > 0 && forms.every((f) => Object.keys(f).some((k) => k.startsWith('__reactProps')));
    });
  }

  async function openBackupPage(): Promise<void> {
    await page.goto(`${server.url}/backup`);
    await page.getByRole('heading', { name: 'Backup', level: 1 }).waitFor();
    await hydrated();
  }

  /** Clicks a submit button and waits for the server action's answer and for React to show it. */
  async function submit(scope: Page | Locator, name: string): Promise<void> {
    const answered = page.waitForResponse((r) => r.request().method() === 'POST' && 'next-action' in r.request().headers());
    await scope.getByRole('button', { name, exact: true }).click();
    await answered;
    await scope.getByRole('button', { name, exact: true, disabled: false }).waitFor();
  }

  /** The texts of the elements an input references through aria-describedby, with its aria-invalid. */
  async function described(input: Locator): Promise<{ invalid: string | null; ids: string[]; texts: string[] }> {
    const ids = ((await input.getAttribute('aria-describedby')) ?? '').split(/\s+/).filter(Boolean);
    const texts: string[] = [];
    for (const id of ids) texts.push(((await page.locator(`[id="${id}"]`).textContent()) ?? '').trim());
    return { invalid: await input.getAttribute('aria-invalid'), ids, texts };
  }

  async function screenshot(name: string): Promise<void> {
    if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, `backup-${name}.png`), fullPage: true });
  }

  const panel = () => page.getByRole('table', { name: 'Backup Status Information' });

  beforeAll(async () => {
    targetDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-e2e-target-'));
    server = await startConsole();
    const otp = new ConsoleClient(server.url);
    expect((await otp.signIn('otp', server.otpPassword!)).ok).toBe(true);
    const created = await otp.json('/api/users', 'POST', { username: admin.username, role: 'admin', password: admin.password, confirmPassword: admin.password });
    expect(created.status, JSON.stringify(created.body)).toBe(200);

    browser = await launchBrowser();
    page = await (await browser.newContext()).newPage();
    await page.goto(`${server.url}/login`);
    await hydrated();
    await page.getByRole('textbox', { name: 'Username', exact: true }).fill(admin.username);
    await page.getByRole('textbox', { name: 'Password', exact: true }).fill(admin.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${server.url}/backup`);
    await hydrated();
  });

  afterAll(() =>
    cleanUp(
      () => browser?.close(),
      () => server?.stop(),
      () => server && fs.rmSync(server.dataDir, { recursive: true, force: true }),
      () => targetDir && fs.rmSync(targetDir, { recursive: true, force: true }),
    ),
  );

  it('1. before anything: Schedule Disabled, with the reason (no Domain Master Secret)', async () => {
    await expect.poll(() => panel().getByTestId('current-status').textContent()).toBe('NOT RUNNING');
    await expect.poll(() => panel().getByTestId('last-success').textContent()).toBe('No successful backup yet');
    const next = panel().getByTestId('next-run');
    await expect.poll(() => next.textContent()).toContain('Schedule Disabled');
    expect(await next.getByTestId('schedule-disabled-reason').textContent()).toBe('Set the Domain Master Secret first.');
    expect(await page.getByTestId('history-empty').isVisible()).toBe(true);
    await screenshot('1-new');
  });

  it('2. sets the Domain Master Secret through the form: bad input first, then once and for all', async () => {
    const opener = page.getByRole('button', { name: 'Set Domain Master Secret', exact: true });
    expect(await page.locator('input[name="dms"]').count()).toBe(0);
    await opener.click();
    const form = page.getByRole('form', { name: 'Set Domain Master Secret' });
    await form.waitFor();
    const dms = form.locator('input[name="dms"]');
    const repeat = form.locator('input[name="dmsRepeat"]');
    await screenshot('2-dms-form');

    // Too short: the message is the field's error, referenced by aria-describedby.
    await dms.fill('short');
    await repeat.fill('short');
    await submit(form, 'Set Domain Master Secret');
    await expect.poll(() => dms.getAttribute('aria-invalid')).toBe('true');
    let d = await described(dms);
    expect(d.ids).toContain('dms-error');
    const error = form.locator('[id="dms-error"]');
    expect(await error.getAttribute('role')).toBe('alert');
    expect((await error.textContent())?.trim()).toBe('Domain Master Secret must be at least 8 characters long!');
    await screenshot('2-dms-too-short');

    // Entries that differ: the message is on the repeat field, the first entry is fine.
    await dms.fill(DMS);
    await repeat.fill(`${DMS}!`);
    await submit(form, 'Set Domain Master Secret');
    await expect.poll(() => repeat.getAttribute('aria-invalid')).toBe('true');
    d = await described(repeat);
    expect(d.ids).toContain('dmsRepeat-error');
    expect(d.texts).toContain('The two entries do not match.');
    expect(await dms.getAttribute('aria-invalid')).toBe('false');
    expect(await form.locator('[id="dms-error"]').count()).toBe(0);
    await screenshot('2-dms-mismatch');

    // Nothing was set by either attempt.
    expect(query('select id from domain_master_secret')).toEqual([]);
    expect(await page.getByTestId('dms-set').count()).toBe(0);

    await dms.fill(DMS);
    await repeat.fill(DMS);
    // Set: the form gives way to the message.
    const answered = page.waitForResponse((r) => r.request().method() === 'POST' && 'next-action' in r.request().headers());
    await form.getByRole('button', { name: 'Set Domain Master Secret', exact: true }).click();
    await answered;
    await page.getByText('DOMAIN MASTER SECRET IS SET.', { exact: true }).waitFor();
    expect(query<{ set_by: string }>('select set_by from domain_master_secret')).toEqual([{ set_by: admin.username }]);

    // Write-once: after a reload the form (and its button) are gone for good.
    await openBackupPage();
    expect((await page.getByTestId('dms-set').textContent())?.trim()).toBe('DOMAIN MASTER SECRET IS SET.');
    expect(await page.getByRole('button', { name: 'Set Domain Master Secret' }).count()).toBe(0);
    expect(await page.locator('input[name="dms"], input[name="dmsRepeat"]').count()).toBe(0);
    // The next blocker is the storage location.
    await expect.poll(() => panel().getByTestId('schedule-disabled-reason').textContent()).toBe('Choose a backup storage location first.');
  });

  it('3. sets the filename prefix, a local storage folder and a daily schedule; shows the next runs', async () => {
    // Backup Filename (optional)
    const settings = page.getByRole('form', { name: 'Backup Filename (optional)' });
    await settings.getByRole('textbox', { name: 'Backup Filename Prefix' }).fill(PREFIX);
    await submit(settings, 'Save Settings');
    await settings.getByText('Backup settings saved.').waitFor();

    // Backup Storage Settings: Local folder
    const storage = page.getByRole('form', { name: 'Backup Storage Settings' });
    await storage.getByLabel('Storage Type').selectOption({ label: 'Local folder' });
    await storage.getByRole('textbox', { name: 'Local folder URL' }).fill(targetDir);
    await submit(storage, 'Save Storage Settings');
    // The green banner at the top of the page (seed).
    await page.getByTestId('page-flash').getByText('Successfully updated backup storage configuration.', { exact: true }).waitFor();

    // Automated Backup Schedule: daily, six hours from now in Tokyo (so it does not fire during the test).
    const at = new Date(Math.floor((Date.now() + 6 * 3600_000) / 60_000) * 60_000);
    const hhmm = new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(at);
    const schedule = page.getByRole('form', { name: 'Automated Backup Schedule' });
    await schedule.getByRole('checkbox', { name: 'Run automated backups' }).check();
    await schedule.getByLabel('Repeat').selectOption({ label: 'Daily at a time' });
    await schedule.getByLabel('Time (HH:MM, 24-hour)').fill(hhmm);
    await schedule.getByLabel('Time zone', { exact: true }).selectOption(TIME_ZONE);
    await submit(schedule, 'Save Schedule');
    await schedule.getByText('Automated backup schedule saved.').waitFor();

    // The form lists the next runs, each with its time zone.
    const runs = schedule.getByTestId('next-runs').getByRole('listitem');
    await expect.poll(() => runs.count()).toBe(3);
    const items = (await runs.allTextContents()).map((t) => t.trim());
    for (const t of items) {
      expect(t).toContain(hhmm);
      expect(t.endsWith(`(${TIME_ZONE})`)).toBe(true);
    }
    const firstRunIso = await runs.first().locator('time').getAttribute('datetime');
    expect(firstRunIso).toBe(at.toISOString());
    expect((await schedule.getByTestId('schedule-description').textContent())?.trim()).toBe(`Daily at ${hhmm} (${TIME_ZONE})`);

    // The status panel picks the schedule up by itself: a relative time, the exact time on hover.
    const next = panel().getByTestId('next-run').locator('time');
    await expect.poll(() => next.count(), { timeout: 15_000 }).toBe(1);
    expect(await next.getAttribute('datetime')).toBe(at.toISOString());
    expect(await next.getAttribute('title')).toBe(`${at.toISOString().replace('T', ' ').slice(0, 19)} UTC`);
    await expect.poll(() => next.textContent()).toBe('in 6 hours');
    expect(await panel().getByTestId('next-run').textContent()).not.toContain('Schedule Disabled');

    // All of it is kept: a reload shows the saved values.
    await openBackupPage();
    expect(await page.getByRole('textbox', { name: 'Backup Filename Prefix' }).inputValue()).toBe(PREFIX);
    expect(await page.getByLabel('Storage Type').inputValue()).toBe('local');
    expect(await page.getByRole('textbox', { name: 'Local folder URL' }).inputValue()).toBe(targetDir);
    expect(await page.getByRole('checkbox', { name: 'Run automated backups' }).isChecked()).toBe(true);
    expect(await page.getByLabel('Time (HH:MM, 24-hour)').inputValue()).toBe(hhmm);
    expect(await page.getByLabel('Time zone', { exact: true }).inputValue()).toBe(TIME_ZONE);
    await screenshot('3-configured');
  });

  it('4. Backup now: live progress without a reload, then NOT RUNNING and Last Successful Backup', async () => {
    // A few hundred megabytes of configuration so that the run takes a few seconds.
    const system = path.join(server.dataDir, 'appliance', 'system');
    fs.mkdirSync(system, { recursive: true });
    const noise = crypto.randomBytes(8 << 20);
    for (let i = 0; i < BULK_FILES; i++) {
      const fd = fs.openSync(path.join(system, `bulk-${i}.bin`), 'w', 0o600);
      try {
        // One random block, made different for every write by a counter: incompressible and quick to make.
        for (let written = 0; written < BULK_FILE_BYTES; written += 8 << 20) {
          noise.writeUInt32LE(i * 1000 + written / (8 << 20), 0);
          fs.writeSync(fd, noise);
        }
      } finally {
        fs.closeSync(fd);
      }
    }
    fs.writeFileSync(path.join(system, 'network.conf'), 'hostname=appliance-e2e\n');

    // A reload (or any new document) would lose this marker and fire "load".
    // (router.refresh() after the run is no load: it re-renders in place.)
    const loads: string[] = [];
    page.on('load', (p) => loads.push(p.url()));
    await page.evaluate(() => ((window as unknown as { __noReload: string }).__noReload = 'still here'));

    await expect.poll(() => panel().getByTestId('current-status').textContent()).toBe('NOT RUNNING');
    const clickedAt = Date.now();
    expect(await clickBackupNow(page)).toMatch(/^Backup #1 started\.$/);
    // While it runs, Backup now is disabled and says why.
    await expect.poll(() => page.getByRole('button', { name: 'Backup now' }).isDisabled(), { timeout: 5000 }).toBe(true);
    expect(await page.getByTestId('backup-now-reason').textContent()).toBe('A backup is in progress.');

    // Sample the panel while the backup runs.
    type Sample = { at: number; status: string | null; phase: string | null; bytes: string | null; valueNow: string | null };
    const samples: Sample[] = [];
    const bar = panel().getByRole('progressbar', { name: 'Backup progress' });
    let shot = false;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const s = await page.evaluate(() => {
        const q = (sel: string) => document.querySelector(sel)?.textContent?.trim() ?? null;
        return {
          at: Date.now(),
          status: q('[data-testid="current-status"]'),
          phase: q('[data-testid="progress-phase"]'),
          bytes: q('[data-testid="progress-bytes"]'),
          valueNow: document.querySelector('[role="progressbar"]')?.getAttribute('aria-valuenow') ?? null,
        };
      });
      samples.push(s);
      if (s.status === 'BACKUP IN PROGRESS' && s.valueNow !== null && Number(s.valueNow) > 0 && Number(s.valueNow) < 100 && !shot) {
        expect(await bar.isVisible()).toBe(true);
        await screenshot('4-running');
        shot = true;
      }
      if (s.status === 'NOT RUNNING' && samples.some((x) => x.status === 'BACKUP IN PROGRESS')) break;
      if (Date.now() > deadline) throw new Error(`The backup did not finish in time: ${JSON.stringify(samples.slice(-5))}`);
      await page.waitForTimeout(150);
    }
    const runningFor = Date.now() - clickedAt;
    if (process.env.WEBCONF_E2E_DEBUG) console.info(samples.map((x) => JSON.stringify(x)).join('\n'));

    const running = samples.filter((s) => s.status === 'BACKUP IN PROGRESS');
    // The progress bar carried a value and the bytes text changed between samples, while writing.
    const withValue = running.filter((s) => s.valueNow !== null);
    expect(withValue.length, JSON.stringify(samples)).toBeGreaterThanOrEqual(2);
    const distinctBytes = new Set(withValue.map((s) => s.bytes));
    expect(distinctBytes.size, `bytes texts seen: ${JSON.stringify([...distinctBytes])}`).toBeGreaterThanOrEqual(2);
    for (const s of withValue) expect(s.bytes).toMatch(/^[\d.]+ (bytes?|KB|MB|GB) of [\d.]+ (MB|GB) \(\d{1,3}%\)$/);
    const values = withValue.map((s) => Number(s.valueNow));
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(new Set(values).size).toBeGreaterThanOrEqual(2);
    // The phases shown are the engine's, in words.
    const phases = [...new Set(running.map((s) => s.phase).filter(Boolean))];
    expect(phases).toContain('Encrypting and writing');

    // Then NOT RUNNING, no progress bar, and the Last Successful Backup updated: all without a reload.
    expect(await bar.count()).toBe(0);
    const finished = query<{ status: string; finished_at: number; file_name: string }>('select status, finished_at, file_name from backup_runs');
    expect(finished.map((r) => r.status)).toEqual(['succeeded']);
    const finishedAt = new Date(finished[0]!.finished_at);
    const last = panel().getByTestId('last-success');
    await expect.poll(() => last.locator('time').count()).toBe(1);
    expect(await last.locator('time').getAttribute('title')).toBe(`${finishedAt.toISOString().replace('T', ' ').slice(0, 19)} UTC`);
    expect(await last.locator('time').textContent()).toMatch(/^(just now|\d+ seconds? ago|1 minute ago)$/);
    expect(await last.textContent()).toContain(finished[0]!.file_name);
    expect(await page.evaluate(() => (window as unknown as { __noReload?: string }).__noReload)).toBe('still here');
    expect(loads).toEqual([]);
    // And Backup now is offered again.
    await expect.poll(() => page.getByRole('button', { name: 'Backup now' }).isDisabled()).toBe(false);
    console.info(`backup-flow: Backup now took ${runningFor} ms until NOT RUNNING; ${samples.length} samples, phases ${phases.join(' > ')}`);
  });

  it('5. the file on the storage folder: prefix, .tar.age, no partial file; the history says succeeded', async () => {
    const files = fs.readdirSync(targetDir);
    expect(files).toHaveLength(1);
    const [file] = files as [string];
    expect(file.startsWith(`${PREFIX}-`)).toBe(true);
    expect(file.endsWith('.tar.age')).toBe(true);
    expect(files.filter((f) => f.endsWith('.partial') || f.startsWith('.'))).toEqual([]);
    // age's header, and more than the random data (it is all in there, encrypted).
    const head = Buffer.alloc(21);
    const fd = fs.openSync(path.join(targetDir, file), 'r');
    fs.readSync(fd, head, 0, head.length, 0);
    fs.closeSync(fd);
    expect(head.toString('latin1')).toBe('age-encryption.org/v1');
    expect(fs.statSync(path.join(targetDir, file)).size).toBeGreaterThan(BULK_FILES * BULK_FILE_BYTES);

    // The history table shows the run (refreshed after the run, without a reload) ...
    const row = page.getByTestId('run-1');
    await row.waitFor({ timeout: 15_000 });
    expect(await row.getByText('succeeded', { exact: true }).isVisible()).toBe(true);
    expect(await row.textContent()).toContain(file);
    expect(await row.textContent()).toContain(`Manual, by ${admin.username}`);
    expect(await row.textContent()).toContain('Verified after writing: every chunk and the signed manifest');
    expect(await page.evaluate(() => (window as unknown as { __noReload?: string }).__noReload)).toBe('still here');
    await screenshot('5-after-run');
    // ... and so does a fresh page.
    await openBackupPage();
    expect(await page.getByTestId('run-1').getByText('succeeded', { exact: true }).isVisible()).toBe(true);
    expect(await panel().getByTestId('current-status').textContent()).toBe('NOT RUNNING');
  });
});
