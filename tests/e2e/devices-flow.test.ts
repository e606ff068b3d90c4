import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { startCephRgw, type CephRgw } from '../helpers/ceph-rgw';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import { startDevices, type SimulatedFleet } from '../helpers/ssh-devices';
import { cleanUp, controlsOutside, createAccountViaApi, gotoAndHydrate, signInWithPassword } from './harness';

/**
 * Managed devices end to end in Chromium, against a real Ceph gateway and a
 * simulated OPNsense device over SSH: an admin adds the device, compares and
 * confirms its host key fingerprint, approves and enables it, sets the
 * organisation configuration with S3 and makes a key pair (its identity shown
 * once), runs a backup, reads the status table, and downloads the backup,
 * which Debian's age decrypts with that identity to the device's exact
 * configuration; s3cmd finds the same object in the bucket.
 */
const admin = { username: 'fleet-admin', password: 'fleet-admin-password-1' };
const BUCKET = 'fleet-e2e';
let rgw: CephRgw;
let fleet: SimulatedFleet;
let server: ConsoleServer;
let browser: TestBrowser;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-e2e-devices-'));

beforeAll(async () => {
  rgw = await startCephRgw();
  await rgw.createBucket(BUCKET);
  fleet = await startDevices([{ kind: 'opnsense', configBytes: 48 * 1024 }]);
  server = await startConsole();
  await createAccountViaApi(server.url, { username: 'otp', password: server.otpPassword! }, { ...admin, role: 'admin' });
  browser = await launchBrowser();
}, 240_000);
afterAll(() =>
  cleanUp(
    () => browser?.close(),
    () => server?.stop(),
    () => fleet?.close(),
    () => rgw?.stop(),
    () => fs.rmSync(tmp, { recursive: true, force: true }),
  ),
);

describe('managed devices in the browser', () => {
  it('add, confirm the fingerprint, approve, enable, configure S3 and a key, back up, read the table, download', async () => {
    const device = fleet.devices[0]!;
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signInWithPassword(page, server.url, admin.username, admin.password);
    await gotoAndHydrate(page, `${server.url}/devices`);
    await page.getByRole('heading', { name: 'Managed devices', level: 1 }).waitFor();
    expect(await page.getByTestId('fleet-status').textContent()).toMatch(/No managed devices yet/);

    // Nothing filled in: every required field is told at itself, the password too.
    await page.getByRole('button', { name: 'Add device' }).click();
    await page.locator('#password-error').waitFor();
    expect(await page.locator('#password-error').textContent()).toBe('Enter the SSH password, or log in with a private key.');
    expect(await page.locator('#password').getAttribute('aria-describedby')).toContain('password-error');
    for (const f of ['name', 'host', 'username']) await page.locator(`#${f}-error`).waitFor();

    // The device: PENDING, with the fingerprint it presented.
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('fw-e2e');
    await page.getByRole('textbox', { name: 'Address', exact: true }).fill(device.host);
    await page.getByRole('spinbutton', { name: 'SSH port' }).fill(String(device.port));
    await page.getByRole('textbox', { name: 'SSH user', exact: true }).fill(device.username);
    await page.locator('#password').fill(device.password);
    await page.getByRole('button', { name: 'Add device' }).click();
    await page.getByText('Added fw-e2e.').waitFor();
    const row = page.getByTestId('device-fw-e2e');
    // The model by its name, not its id; a result can be dismissed once read.
    expect(await row.textContent()).toContain(`${device.username}@${device.host}:${device.port} · OPNsense`);
    await page.getByRole('button', { name: 'Dismiss this message' }).first().click();
    await expect.poll(() => page.getByText('Added fw-e2e.').count()).toBe(0);
    await row.getByText('PENDING').waitFor();
    expect(await page.getByTestId('host-key-fw-e2e').textContent()).toContain(device.fingerprint);
    // The password is in no answer and nowhere on the page.
    expect(await page.content()).not.toContain(device.password);
    await row.getByRole('button', { name: 'Confirm this fingerprint' }).click();
    await row.getByText(`Host key ${device.fingerprint}`).waitFor();
    await row.getByRole('button', { name: 'Approve' }).click();
    await page.getByText('Approved fw-e2e').waitFor();
    // Backups are on for a new device; the toggle leaves it out and takes it back.
    const toggle = row.getByRole('switch', { name: /Backup/ });
    expect(await toggle.getAttribute('aria-checked')).toBe('true');
    await toggle.click();
    await page.getByText('Backups of fw-e2e disabled.').waitFor();
    await expect.poll(() => page.getByTestId('fleet-total').textContent()).toBe('Total: 1 device (0 with backup enabled)');
    expect(await toggle.getAttribute('aria-checked')).toBe('false');
    await toggle.click();
    await page.getByText('Backups of fw-e2e enabled.').waitFor();
    await expect.poll(() => page.getByTestId('fleet-total').textContent()).toBe('Total: 1 device (1 with backup enabled)');

    // The organisation configuration with S3, then a key pair.
    const config = page.getByTestId('fleet-config');
    await config.getByRole('button', { name: 'Set up' }).click();
    await page.getByRole('textbox', { name: 'S3 Endpoint', exact: true }).fill(rgw.endpoint);
    await page.getByRole('textbox', { name: 'S3 Bucket', exact: true }).fill(BUCKET);
    await page.getByRole('textbox', { name: 'S3 Folder', exact: true }).fill('production');
    await page.getByRole('textbox', { name: 'S3 Key ID', exact: true }).fill(rgw.accessKeyId);
    await page.locator('#secretKey').fill(rgw.secretAccessKey);
    await page.getByLabel('Back up the enabled devices on the schedule').check();
    await config.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved the organisation backup configuration.').waitFor();
    // The view is read again after the save: wait for it rather than for the banner alone.
    await expect.poll(() => config.textContent()).toMatch(/● ENABLED/);
    expect(await page.content()).not.toContain(rgw.secretAccessKey);
    await config.getByRole('button', { name: 'Make a new key pair' }).click();
    const shown = page.getByTestId('new-identity');
    await shown.waitFor();
    const identity = ((await shown.locator('code').textContent()) ?? '').trim();
    expect(identity).toMatch(/^AGE-SECRET-KEY-1[0-9A-Z]+$/);
    await expect.poll(() => config.textContent()).toMatch(/● Configured/);

    // A backup of all enabled devices, followed to its end.
    await page.getByRole('button', { name: 'Back up all enabled' }).click();
    const run = page.getByTestId('fleet-run');
    await expect.poll(() => run.textContent(), { timeout: 60_000 }).toMatch(/Every device was backed up/);
    const status = page.getByTestId('status-fw-e2e');
    await expect.poll(() => status.textContent()).toMatch(/fw-e2e(Backup: )?Enabled(Key: )?org.*● SUCCESS/);

    // The download is the encrypted file; age decrypts it to exactly what the device served.
    await row.getByText(/Backups and key/).click();
    const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('link', { name: 'Download' }).first().click()]);
    const file = path.join(tmp, 'download.age');
    await download.saveAs(file);
    const idFile = path.join(tmp, 'identity.txt');
    fs.writeFileSync(idFile, `${identity}\n`, { mode: 0o600 });
    const plain = execFileSync('age', ['-d', '-i', idFile, file]);
    expect(plain.equals(device.served.at(-1)!)).toBe(true);
    const listed = await rgw.s3cmd(['ls', '--recursive', `s3://${BUCKET}/production/`]);
    expect(listed.stdout).toMatch(/production\/fw-e2e\//);
    await ctx.close();
  }, 240_000);

  it('the page fits a 390 px screen: the table, the configuration form, a device with its backups and key', async () => {
    const ctx = await browser.browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await ctx.newPage();
    await signInWithPassword(page, server.url, admin.username, admin.password);
    await gotoAndHydrate(page, `${server.url}/devices`);
    await page.getByTestId('status-fw-e2e').waitFor();
    const fits = async () => {
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      const { checked, outside } = await controlsOutside(page, 390);
      expect(outside, 'controls outside 0..390').toEqual([]);
      return checked;
    };
    expect(await fits()).toBeGreaterThan(10);
    // The status table is a card per device: its Status is on screen without scrolling sideways.
    const cell = page.getByTestId('status-fw-e2e').getByText('● SUCCESS');
    const box = (await cell.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(390);
    expect(await page.getByTestId('status-fw-e2e').textContent()).toMatch(/Status: ● SUCCESS/);
    await page.getByTestId('device-fw-e2e').getByText(/Backups and key/).click();
    await page.getByTestId('device-fw-e2e').getByRole('link', { name: 'Download' }).first().waitFor();
    await fits();
    await page.getByTestId('fleet-config').getByRole('button', { name: 'Change' }).click();
    await page.locator('#secretKey').waitFor();
    await fits();
    await ctx.close();
  }, 120_000);
});
