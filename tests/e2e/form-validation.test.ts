import fs from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import {
  cleanUp,
  consoleDb,
  createAccountViaApi,
  expectFieldError,
  expectFieldValid,
  field,
  gotoAndHydrate,
  signInWithPassword,
  submitForm,
  submitLogin,
} from './harness';

/**
 * Bad input in every form: an empty, a too long and a malformed value each
 * get a clear message next to the field (aria-invalid, and the message
 * referenced by aria-describedby), and nothing is changed.
 */
describe('bad input in every form', () => {
  let server: ConsoleServer;
  let browser: TestBrowser;
  let page: Page;
  const admin = { username: 'alice', password: 'correct-horse-battery-1' };
  const db = () => consoleDb(server.dataDir);

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

  describe('login', () => {
    let signInEventsBefore: number;
    beforeAll(async () => {
      page = await (await browser.newContext()).newPage();
      await gotoAndHydrate(page, `${server.url}/login`);
      signInEventsBefore = db().audit('auth.sign-in').length;
    });

    it('empty username and password', async () => {
      await submitLogin(page, '', '');
      expect(await expectFieldError(page, 'username', 'Enter your username.')).toBe('Enter your username.');
      expect(await expectFieldError(page, 'password', 'Enter your password.')).toBe('Enter your password.');
    });

    it('too long username and password', async () => {
      await submitLogin(page, 'a'.repeat(65), 'p'.repeat(129));
      await expectFieldError(page, 'username', 'A username has at most 64 characters.');
      await expectFieldError(page, 'password', 'A password has at most 128 characters.');
    });

    it('malformed username', async () => {
      await submitLogin(page, 'Alice Admin', admin.password);
      await expectFieldError(page, 'username', 'A username has lower-case letters, digits, dot, dash or underscore only.');
      await expectFieldValid(page, 'password');
    });

    it('nothing was attempted: still signed out, no sign-in recorded', async () => {
      expect(new URL(page.url()).pathname).toBe('/login');
      expect(db().audit('auth.sign-in').length).toBe(signInEventsBefore);
      expect(db().query('select * from login_failures')).toEqual([]);
      // The same form still signs in with good input (the errors above were the input's).
      await submitLogin(page, admin.username, admin.password);
      await page.waitForURL(`${server.url}/backup`);
    });
  });

  describe('create user account', () => {
    let usersBefore: unknown[];
    beforeAll(async () => {
      await gotoAndHydrate(page, `${server.url}/users`);
      usersBefore = db().users();
    });

    async function submit(values: { username: string; displayName?: string; role?: string; password: string; confirmPassword: string }) {
      await field(page, 'Username').fill(values.username);
      await field(page, 'Display name (optional)').fill(values.displayName ?? '');
      if (values.role) await page.getByRole('combobox', { name: 'Role', exact: true }).selectOption(values.role);
      await field(page, 'Password').fill(values.password);
      await field(page, 'Repeat password').fill(values.confirmPassword);
      await submitForm(page, 'Create account');
      await page.getByText('Check the highlighted fields.').waitFor();
    }

    it('empty fields', async () => {
      await submit({ username: '', password: '', confirmPassword: '' });
      expect(await expectFieldError(page, 'username', 'Enter a username.')).toBe('Enter a username.');
      expect(await expectFieldError(page, 'password', 'Enter a password.')).toBe('Enter a password.');
      expect(await expectFieldError(page, 'confirmPassword', 'Repeat the password.')).toBe('Repeat the password.');
      await expectFieldValid(page, 'displayName');
    });

    it('too long values', async () => {
      const long = 'p'.repeat(129);
      await submit({ username: 'a'.repeat(33), displayName: 'd'.repeat(65), password: long, confirmPassword: long });
      await expectFieldError(page, 'username', 'A username has at most 32 characters.');
      await expectFieldError(page, 'displayName', 'A display name has at most 64 characters.');
      await expectFieldError(page, 'password', 'A password has at most 128 characters.');
    });

    it('malformed values, including a tampered role', async () => {
      // A role the form does not offer, as a tampered request would send it.
      await page.locator('select[name="role"] option[value="support"]').evaluate((o: HTMLOptionElement) => (o.value = 'root'));
      await submit({ username: 'Bad User!', role: 'root', password: 'short-pw', confirmPassword: 'short-pw' });
      await expectFieldError(page, 'username', 'Use lower-case letters, digits, dot, dash or underscore, starting with a letter.');
      await expectFieldError(page, 'role', 'Choose a role: admin, operator or support.');
      await expectFieldError(page, 'password', 'A password has at least 12 characters.');
      // What the user typed stays (passwords excepted).
      expect(await field(page, 'Username').inputValue()).toBe('Bad User!');
      expect(await field(page, 'Password').inputValue()).toBe('');
    });

    it('mismatched passwords', async () => {
      // A fresh form: the tampered option is gone.
      await gotoAndHydrate(page, `${server.url}/users`);
      await submit({ username: 'bob', role: 'operator', password: 'a-long-password-1', confirmPassword: 'a-long-password-2' });
      await expectFieldError(page, 'confirmPassword', 'The passwords do not match.');
      await expectFieldValid(page, 'username');
    });

    it('no account was created', () => {
      expect(db().users()).toEqual(usersBefore);
      expect(db().audit('account.create')).toEqual([
        expect.objectContaining({ actor_name: 'otp', outcome: 'success', target: admin.username }), // from the setup
      ]);
    });
  });

  describe('Backup Filename prefix', () => {
    beforeAll(async () => {
      await gotoAndHydrate(page, `${server.url}/backup`);
      await field(page, 'Backup Filename Prefix').fill('appliance-01');
      await submitForm(page, 'Save Settings');
      await page.getByText('Backup settings saved.').waitFor();
      await gotoAndHydrate(page, `${server.url}/backup`);
    });

    async function save(value: string) {
      await field(page, 'Backup Filename Prefix').fill(value);
      await submitForm(page, 'Save Settings');
    }

    it('too long', async () => {
      await save('a'.repeat(41));
      await expectFieldError(page, 'filenamePrefix', 'The prefix has at most 40 characters.');
      expect(db().setting('backup')?.value).toMatchObject({ filenamePrefix: 'appliance-01' });
    });

    it('malformed', async () => {
      for (const bad of ['../etc/passwd', 'my backup', '-leading-dash', 'prefix;rm']) {
        await save(bad);
        await expectFieldError(page, 'filenamePrefix', 'Use letters, digits, dot, dash or underscore, starting with a letter or digit.');
        expect(await field(page, 'Backup Filename Prefix').inputValue(), 'the input keeps what was typed').toBe(bad);
      }
      expect(db().setting('backup')?.value).toMatchObject({ filenamePrefix: 'appliance-01' });
      expect(db().audit('backup.settings.save').filter((e) => e.outcome === 'success')).toHaveLength(1);
    });

    it('empty is allowed: the prefix is optional ("Backup Filename (optional)") and is cleared', async () => {
      await save('');
      await page.getByText('Backup settings saved.').waitFor();
      await expectFieldValid(page, 'filenamePrefix');
      expect(db().setting('backup')?.value).toMatchObject({ filenamePrefix: '' });
    });
  });

  describe('Automated Backup Schedule', () => {
    it('a refused time keeps what was chosen (Repeat, Day, Time zone), and the corrected form saves exactly that', async () => {
      await gotoAndHydrate(page, `${server.url}/backup`);
      const before = db().setting('backup')?.value;
      const form = page.getByRole('form', { name: 'Automated Backup Schedule' });
      await form.getByLabel('Repeat').selectOption('weekly');
      await form.getByLabel('Day').selectOption({ label: 'Wednesday' });
      await form.getByLabel('Time zone', { exact: true }).selectOption('Asia/Tokyo');
      await form.getByLabel('Time (HH:MM, 24-hour)').fill('25:99');
      await submitForm(page, 'Save Schedule');
      await expectFieldError(page, 'time', 'Enter a time as HH:MM, 00:00 to 23:59.');
      expect(db().setting('backup')?.value).toEqual(before);
      // React resets the form after the submission: the selects must still show what was chosen.
      expect(await form.getByLabel('Repeat').inputValue()).toBe('weekly');
      expect(await form.getByLabel('Day').inputValue()).toBe('3');
      expect(await form.getByLabel('Time zone', { exact: true }).inputValue()).toBe('Asia/Tokyo');
      await form.getByLabel('Time (HH:MM, 24-hour)').fill('03:30');
      await submitForm(page, 'Save Schedule');
      await form.getByText('Automated backup schedule saved.').waitFor();
      expect(db().setting('backup')?.value).toMatchObject({ schedule: { cron: '30 3 * * 3', timezone: 'Asia/Tokyo' } });
    });
  });

  describe('OpenID Connect settings', () => {
    const valid = {
      displayName: 'Example IdP',
      issuer: 'https://login.example.com/realms/main',
      clientId: 'webconf',
      clientSecret: 'a-client-secret',
      roleClaim: 'groups',
      operatorValues: 'ops',
    };
    const labels: Record<keyof typeof valid, string> = {
      displayName: 'Button label',
      issuer: 'Issuer URL',
      clientId: 'Client id',
      clientSecret: 'Client secret',
      roleClaim: 'Role claim',
      operatorValues: 'Claim values for Operator',
    };

    beforeAll(async () => {
      await gotoAndHydrate(page, `${server.url}/settings/sign-in`);
    });

    async function save(values: Partial<typeof valid>) {
      for (const [k, label] of Object.entries(labels) as [keyof typeof valid, string][]) {
        await field(page, label).fill(values[k] ?? valid[k]);
      }
      await submitForm(page, 'Save sign-in settings');
    }

    it('empty fields', async () => {
      await save({ displayName: '', issuer: '', clientId: '', roleClaim: '' });
      expect(await expectFieldError(page, 'displayName', 'Enter the name shown on the sign-in button.')).toBe('Enter the name shown on the sign-in button.');
      expect(await expectFieldError(page, 'issuer', 'Enter the issuer URL.')).toBe('Enter the issuer URL.');
      expect(await expectFieldError(page, 'clientId', 'Enter the client id.')).toBe('Enter the client id.');
      expect(await expectFieldError(page, 'roleClaim', /^Enter the claim that carries the role/)).toBe('Enter the claim that carries the role, e.g. groups.');
      await expectFieldValid(page, 'operatorValues');
    });

    it('an empty client secret on first configuration', async () => {
      await save({ clientSecret: '' });
      await expectFieldError(page, 'clientSecret', 'Enter the client secret.');
      await expectFieldValid(page, 'issuer');
    });

    it('too long values', async () => {
      await save({ displayName: 'x'.repeat(41), issuer: `https://${'a'.repeat(300)}.example`, clientId: 'c'.repeat(201), roleClaim: 'g'.repeat(101), operatorValues: 'o'.repeat(501) });
      await expectFieldError(page, 'displayName', 'At most 40 characters.');
      await expectFieldError(page, 'issuer', 'At most 300 characters.');
      await expectFieldError(page, 'clientId', 'At most 200 characters.');
      await expectFieldError(page, 'roleClaim', 'At most 100 characters.');
      await expectFieldError(page, 'operatorValues', 'At most 500 characters.');
    });

    it('malformed values', async () => {
      await save({ issuer: 'login.example.com', roleClaim: 'my groups', operatorValues: '<script>' });
      await expectFieldError(page, 'issuer', 'Enter an http(s) URL, e.g. https://login.example.com/realms/main.');
      await expectFieldError(page, 'roleClaim', 'A claim name has letters, digits and _ . : / - only.');
      await expectFieldError(page, 'operatorValues', 'Claim values cannot contain <, > or ".');
      await save({ issuer: 'ftp://login.example.com' });
      await expectFieldError(page, 'issuer', 'Enter an http(s) URL, e.g. https://login.example.com/realms/main.');
    });

    it('nothing was stored, and the login page offers no provider', async () => {
      expect(db().setting('oidc')).toBeUndefined();
      expect(db().audit('auth.oidc.configure').filter((e) => e.outcome === 'success')).toEqual([]);
      const anon = await (await browser.newContext()).newPage();
      await gotoAndHydrate(anon, `${server.url}/login`);
      expect(await anon.getByRole('button', { name: /^Sign in with/ }).count()).toBe(0);
      await anon.context().close();
    });
  });
});
