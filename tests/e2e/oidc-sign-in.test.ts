import fs from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import { ConsoleClient } from '../helpers/http-client';
import { startOidcProvider, type OidcProviderHarness } from '../helpers/oidc-provider';
import { cleanUp, consoleDb, createAccountViaApi, field, gotoAndHydrate, signInWithPassword, waitForHydration, whoami } from './harness';

/**
 * Single sign-on against a real OpenID Connect provider on loopback: the
 * admin configures it through the Sign-in settings form, and a user whose
 * `groups` claim holds "ops" signs in through it as an Operator.
 */
describe('OpenID Connect sign-in', () => {
  let server: ConsoleServer;
  let idp: OidcProviderHarness;
  let browser: TestBrowser;
  let adminPage: Page;
  const admin = { username: 'alice', password: 'correct-horse-battery-1' };
  const label = 'Example IdP';

  beforeAll(async () => {
    server = await startConsole();
    idp = await startOidcProvider({
      redirectUris: [`${server.url}/api/auth/callback/oidc`],
      accounts: {
        olivia: { name: 'Olivia Ops', email: 'olivia@idp.test', groups: ['staff', 'ops'] },
        nora: { name: 'Nora Nobody', email: 'nora@idp.test', groups: ['staff'] },
      },
    });
    browser = await launchBrowser();
    await createAccountViaApi(server.url, { username: 'otp', password: server.otpPassword! }, { ...admin, role: 'admin' });
  });

  afterAll(() =>
    cleanUp(
      () => browser?.close(),
      () => idp?.stop(),
      () => server?.stop(),
      () => server && fs.rmSync(server.dataDir, { recursive: true, force: true }),
    ),
  );

  /** Login page → "Sign in with <label>" → the provider's login and consent pages → back at the console. */
  async function signInThroughProvider(page: Page, login: string): Promise<void> {
    await gotoAndHydrate(page, `${server.url}/login`);
    await page.getByRole('button', { name: `Sign in with ${label}` }).click();
    await page.waitForURL(`${idp.issuer}/interaction/**`);
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('any password works here');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    // Consent for the console's scopes.
    await page.waitForURL(`${idp.issuer}/interaction/**`);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL((u) => u.origin === server.url);
  }

  it('the admin configures the provider on Sign-in settings', async () => {
    adminPage = await (await browser.newContext()).newPage();
    await signInWithPassword(adminPage, server.url, admin.username, admin.password);
    await gotoAndHydrate(adminPage, `${server.url}/settings/sign-in`);
    expect(await adminPage.getByTestId('redirect-uri').textContent()).toBe(`${server.url}/api/auth/callback/oidc`);

    await field(adminPage, 'Button label').fill(label);
    await field(adminPage, 'Issuer URL').fill(idp.issuer);
    await field(adminPage, 'Client id').fill(idp.clientId);
    await field(adminPage, 'Client secret').fill(idp.clientSecret);
    await field(adminPage, 'Role claim').fill('groups');
    await field(adminPage, 'Claim values for Operator').fill('ops');
    await field(adminPage, 'Claim values for Support').fill('helpdesk');
    await adminPage.getByRole('button', { name: 'Save sign-in settings' }).click();
    await adminPage.getByText('OpenID Connect settings saved.').waitFor();

    const stored = consoleDb(server.dataDir).setting('oidc')!.value as Record<string, unknown>;
    expect(stored).toMatchObject({
      enabled: true,
      displayName: label,
      issuer: idp.issuer,
      clientId: idp.clientId,
      roleClaim: 'groups',
      roleMapping: { admin: [], operator: ['ops'], support: ['helpdesk'] },
    });
    // The secret is stored sealed, never as given.
    expect(JSON.stringify(stored)).not.toContain(idp.clientSecret);
    expect(stored.clientSecretSealed).toMatch(/^v1\./);
  });

  it('after signing out, the login page offers the provider', async () => {
    await adminPage.getByRole('button', { name: 'Sign out' }).click();
    await adminPage.waitForURL(`${server.url}/login`);
    await waitForHydration(adminPage);
    await adminPage.getByRole('button', { name: `Sign in with ${label}` }).waitFor();
    await adminPage.screenshot({ path: '/tmp/webconf-login.png', fullPage: true });
    // Signed out for real: the console sends the browser back to sign-in.
    await adminPage.goto(`${server.url}/backup`);
    await adminPage.waitForURL(/\/login\?callbackUrl=%2Fbackup$/);
  });

  it('a user in the "ops" group signs in at the provider and comes back as Operator', async () => {
    const page = await (await browser.newContext()).newPage();
    await signInThroughProvider(page, 'olivia');
    await page.waitForURL(`${server.url}/backup`);
    expect(await whoami(page)).toBe('Olivia Ops Operator');
    // An Operator reads backup status.
    expect(await page.getByTestId('current-status').textContent()).toBe('NOT RUNNING');

    const account = consoleDb(server.dataDir).users().find((u) => u.kind === 'oidc');
    expect(account).toMatchObject({ username: 'olivia', role: 'operator', oidc_issuer: idp.issuer, oidc_subject: 'olivia', display_name: 'Olivia Ops' });

    // Neither Sign-in settings nor User accounts: not in the menu, and refused when opened.
    const nav = page.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link').allTextContents()).toEqual(['Backup', 'Managed devices']);
    await page.goto(`${server.url}/settings/sign-in`);
    expect(await page.getByTestId('refused').textContent()).toBe('The Operator role cannot configure sign-in.');
    expect(await field(page, 'Client secret').count()).toBe(0);
    await page.goto(`${server.url}/users`);
    expect(await page.getByTestId('refused').textContent()).toBe('The Operator role cannot create user accounts.');
    expect(await page.getByRole('button', { name: 'Create account' }).count()).toBe(0);
  });

  it('the role follows the claims at the next sign-in, and the session granted under the old role ends', async () => {
    const before = await (await browser.newContext()).newPage();
    await signInThroughProvider(before, 'olivia');
    await before.waitForURL(`${server.url}/backup`);
    expect(await whoami(before)).toBe('Olivia Ops Operator');

    idp.accounts.olivia!.groups = ['staff', 'helpdesk'];
    try {
      const after = await (await browser.newContext()).newPage();
      await signInThroughProvider(after, 'olivia');
      await after.waitForURL(`${server.url}/backup`);
      expect(await whoami(after)).toBe('Olivia Ops Support');
      expect(consoleDb(server.dataDir).users().find((u) => u.username === 'olivia')?.role).toBe('support');
      const sync = consoleDb(server.dataDir).audit('user.role.sync');
      expect(sync.map((e) => [e.target, e.outcome])).toEqual([['olivia', 'success']]);
      expect(JSON.parse(sync[0]!.detail!)).toMatchObject({ from: 'operator', to: 'support', source: 'oidc claims', sessionsEnded: 2 });

      // The tab opened as Operator: its next request goes to sign-in, saying why.
      await before.reload();
      await before.waitForURL(/\/login\?error=SessionRevoked/);
      expect(await before.getByTestId('login-error').textContent()).toContain('Your session was ended');
    } finally {
      idp.accounts.olivia!.groups = ['staff', 'ops'];
    }
  });

  it('a disabled OpenID Connect account is turned away at sign-in with a clear message', async () => {
    const api = new ConsoleClient(server.url);
    expect(await api.signIn(admin.username, admin.password)).toMatchObject({ ok: true });
    const id = consoleDb(server.dataDir).users().find((u) => u.username === 'olivia')!.id;
    expect((await api.json(`/api/users/${id}`, 'PATCH', { disabled: true })).status).toBe(200);
    const page = await (await browser.newContext()).newPage();
    await signInThroughProvider(page, 'olivia');
    await page.waitForURL(/\/login\?error=AccountDisabled/);
    expect(await page.getByTestId('login-error').textContent()).toBe('This account is disabled. Ask an admin to enable it.');
    expect(consoleDb(server.dataDir).audit('auth.sign-in').some((e) => e.outcome === 'denied' && e.detail?.includes('account disabled'))).toBe(true);
    expect((await api.json(`/api/users/${id}`, 'PATCH', { disabled: false })).status).toBe(200);
  });

  it('a user whose groups map to no role is turned away with a clear message', async () => {
    const page = await (await browser.newContext()).newPage();
    await signInThroughProvider(page, 'nora');
    await page.waitForURL(/\/login\?error=OidcNoRole/);
    expect(await page.getByTestId('login-error').textContent()).toContain('Your account at the identity provider has no role on this appliance.');
    await page.goto(`${server.url}/backup`);
    await page.waitForURL(/\/login\?callbackUrl=/);
    expect(consoleDb(server.dataDir).users().map((u) => u.username)).not.toContain('nora');
  });
});
