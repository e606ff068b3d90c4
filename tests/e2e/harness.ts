import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { ConsoleClient } from '../helpers/http-client';

/**
 * What the end-to-end tests share: page steps a user takes (sign in, wait for
 * the page to be interactive), the accessible field-error check, and a
 * read-only look into the console's database to prove what was (not) saved.
 */

/**
 * Runs every clean-up step even when one fails (a browser that will not
 * close must not leave a server running), then reports the first failure.
 */
export async function cleanUp(...steps: (() => unknown)[]): Promise<void> {
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length) throw errors[0];
}

/** Waits until React has hydrated the page's forms, so clicks run the app's handlers. */
export async function waitForHydration(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const forms = Array.from(document.querySelectorAll('form'));
    return forms.length > 0 && forms.every((f) => Object.keys(f).some((k) => k.startsWith('__reactProps')));
  });
}

export async function gotoAndHydrate(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await waitForHydration(page);
}

/**
 * Clicks a form's submit button and waits until the server action has
 * answered and React has shown the result: the button is pending (disabled,
 * "Working…") from the click until the new state is on the page.
 */
export async function submitForm(page: Page, buttonName: string): Promise<void> {
  const answered = page.waitForResponse((r) => r.request().method() === 'POST' && 'next-action' in r.request().headers());
  await page.getByRole('button', { name: buttonName, exact: true }).click();
  await answered;
  await page.getByRole('button', { name: buttonName, exact: true, disabled: false }).waitFor();
}

/**
 * Clicks Backup now and waits for the action's answer to be on the page (the
 * result banner). Not submitForm: the button rightly stays disabled while the
 * backup runs (the status panel may say so before the action's pending state
 * ends), so waiting for it to be enabled again would wait for the backup to end.
 * Returns the banner's message (it stays until the status panel has seen the
 * run end, a second at least).
 */
export async function clickBackupNow(page: Page): Promise<string> {
  const answered = page.waitForResponse((r) => r.request().method() === 'POST' && 'next-action' in r.request().headers());
  await page.getByRole('button', { name: 'Backup now', exact: true }).click();
  await answered;
  return ((await page.getByTestId('backup-now-result').textContent()) ?? '').trim();
}

/** A text or password input by its accessible name (the label, without the required marker). */
export function field(page: Page, name: string) {
  return page.getByRole('textbox', { name, exact: true });
}

/** Fills and submits the password sign-in form (the page must be the login page). */
export async function submitLogin(page: Page, username: string, password: string): Promise<void> {
  await waitForHydration(page);
  await field(page, 'Username').fill(username);
  await field(page, 'Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** Signs in with a password from the login page and waits for the Backup page. */
export async function signInWithPassword(page: Page, baseUrl: string, username: string, password: string): Promise<void> {
  await gotoAndHydrate(page, `${baseUrl}/login`);
  await submitLogin(page, username, password);
  await page.waitForURL(`${baseUrl}/backup`);
  await page.getByRole('heading', { name: 'Backup', level: 1 }).waitFor();
}

/** The "name + role" text in the console's header. */
export async function whoami(page: Page): Promise<string> {
  return ((await page.getByTestId('whoami').textContent()) ?? '').replace(/\s+/g, ' ').trim();
}

/**
 * Asserts that the input named `name` is marked invalid and that an element
 * it references through aria-describedby shows `message`; returns that text.
 */
export async function expectFieldError(page: Page, name: string, message: string | RegExp): Promise<string> {
  const input = page.locator(`form [name="${name}"]`);
  await expect.poll(() => input.getAttribute('aria-invalid'), { message: `${name} is aria-invalid` }).toBe('true');
  const ids = ((await input.getAttribute('aria-describedby')) ?? '').split(/\s+/).filter(Boolean);
  expect(ids.length, `${name} has aria-describedby`).toBeGreaterThan(0);
  const texts: string[] = [];
  for (const id of ids) {
    const el = page.locator(`[id="${id}"]`);
    if ((await el.count()) === 1 && (await el.isVisible())) texts.push(((await el.textContent()) ?? '').trim());
  }
  const hit = texts.find((t) => (typeof message === 'string' ? t.includes(message) : message.test(t)));
  expect(hit, `an element described-by ${name} says ${String(message)}; found ${JSON.stringify(texts)}`).toBeDefined();
  return hit!;
}

/** Asserts the input named `name` carries no error. */
export async function expectFieldValid(page: Page, name: string): Promise<void> {
  const input = page.locator(`form [name="${name}"]`);
  expect(await input.getAttribute('aria-invalid')).toBe('false');
  expect(await page.locator(`[id="${name}-error"]`).count()).toBe(0);
}

/** A read-only view of the console's SQLite database (opened per call: the server writes in between). */
export function consoleDb(dataDir: string) {
  const file = path.join(dataDir, 'webconf.db');
  function query<T>(sql: string, ...params: unknown[]): T[] {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return db.prepare(sql).all(...params) as T[];
    } finally {
      db.close();
    }
  }
  return {
    query,
    setting(key: string): { value: unknown; updatedAt: number; updatedBy: string | null } | undefined {
      const row = query<{ value: string; updated_at: number; updated_by: string | null }>(
        'select value, updated_at, updated_by from settings where key = ?',
        key,
      )[0];
      return row && { value: JSON.parse(row.value), updatedAt: row.updated_at, updatedBy: row.updated_by };
    },
    users() {
      return query<{ id: number; username: string; display_name: string | null; kind: string; role: string; oidc_issuer: string | null; oidc_subject: string | null }>(
        'select id, username, display_name, kind, role, oidc_issuer, oidc_subject from users order by id',
      );
    },
    audit(action?: string) {
      return query<{ actor_name: string; action: string; outcome: string; target: string | null; detail: string | null }>(
        action
          ? 'select actor_name, action, outcome, target, detail from audit_events where action = ? order by id'
          : 'select actor_name, action, outcome, target, detail from audit_events order by id',
        ...(action ? [action] : []),
      );
    },
  };
}

/** Creates a password account through the API, signed in as `as` (OTP user or admin). */
export async function createAccountViaApi(
  baseUrl: string,
  as: { username: string; password: string },
  account: { username: string; password: string; role: 'admin' | 'operator' | 'support'; displayName?: string },
): Promise<void> {
  const client = new ConsoleClient(baseUrl);
  const signedIn = await client.signIn(as.username, as.password);
  expect(signedIn.ok, `${as.username} signs in through the API`).toBe(true);
  const res = await client.json('/api/users', 'POST', { ...account, confirmPassword: account.password });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

export function fileMode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

// ---------------------------------------------------------------------------
// Backup storage (issue 9): the green banner, the storage browser, API set-up
// steps, narrow-screen checks.
// ---------------------------------------------------------------------------

export const STORAGE_SAVED = 'Successfully updated backup storage configuration.';

/**
 * Waits for the green banner at the top of the page (data-testid page-flash)
 * and asserts that it says `message`, comes before the page's h1 and is
 * scrolled into view (its top within the viewport's upper part).
 */
export async function expectPageFlash(page: Page, message: string): Promise<void> {
  const flash = page.getByTestId('page-flash');
  await flash.waitFor();
  expect(((await flash.textContent()) ?? '').trim()).toContain(message);
  const beforeH1 = await flash.evaluate((el) => {
    const h1 = document.querySelector('main h1');
    return Boolean(h1 && el.compareDocumentPosition(h1) & Node.DOCUMENT_POSITION_FOLLOWING);
  });
  expect(beforeH1, 'the banner sits above the page heading').toBe(true);
  // It scrolls (smoothly) into view: it ends in the upper part of the viewport, its text readable.
  await expect
    .poll(
      () =>
        flash.evaluate((el) => {
          const r = el.getBoundingClientRect();
          return r.bottom > 0 && r.top < 200;
        }),
      { message: 'the banner is scrolled into view at the top' },
    )
    .toBe(true);
}

/** The open storage browser dialog and its parts. */
export function storageBrowser(page: Page) {
  const dialog = page.getByRole('dialog', { name: 'Browse Storage' });
  return {
    dialog,
    count: () => dialog.getByTestId('browser-count'),
    folders: () => dialog.getByTestId('browser-folder'),
    backups: () => dialog.getByTestId('browser-backup'),
    breadcrumbs: () => dialog.getByRole('navigation', { name: 'Location' }),
    filter: () => dialog.getByRole('searchbox', { name: 'Filter' }),
    up: () => dialog.getByRole('button', { name: 'One level up', exact: true }),
    use: () => dialog.getByRole('button', { name: 'Use This Location', exact: true }),
    url: () => dialog.getByTestId('browser-url'),
    /** The names of the entries shown, in order. */
    names: () => dialog.locator('[data-testid="browser-entries"] > li span.break-all').allTextContents(),
    /** The breadcrumbs' texts, in order. */
    crumbs: async () => (await dialog.getByTestId('breadcrumbs').locator('li').allTextContents()).map((t) => t.replace(/^\//, '').trim()),
    /** Waits until a listing of the folder at `url` (exactly) is shown and no request is in flight. */
    async shows(url: string): Promise<void> {
      await expect.poll(() => dialog.getByTestId('browser-url').textContent(), { message: `the browser shows ${url}` }).toBe(url);
      await expect.poll(() => dialog.getByTestId('browser-entries').getAttribute('aria-busy')).toBe('false');
      // Not a kept listing shown while the folder is read again (its list is not busy meanwhile).
      await expect.poll(() => dialog.getByTestId('browser-updating').count()).toBe(0);
      await expect.poll(async () => /^\d+ of \d+ shown/.test((await dialog.getByTestId('browser-count').textContent()) ?? '')).toBe(true);
    },
  };
}

/** Sets the Domain Master Secret through the API (as an admin's ConsoleClient). */
export async function setDmsViaApi(api: ConsoleClient, dms: string): Promise<void> {
  const res = await api.json('/api/backup/dms', 'PUT', { dms, dmsRepeat: dms });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

export type RunInfo = { id: number; status: string; fileName: string | null; checksum: string | null; error: string | null; sizeBytes: number | null };

/** Starts a backup through the API and waits until it has ended; returns the run. */
export async function backupViaApi(api: ConsoleClient, timeoutMs = 60_000): Promise<RunInfo> {
  const started = await api.json<{ run: RunInfo }>('/api/backups', 'POST', {});
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  const id = started.body.run.id;
  // A plain loop (expect.poll only works inside a test; this also runs in beforeAll).
  const deadline = Date.now() + timeoutMs;
  let run: RunInfo | undefined;
  for (;;) {
    const res = await api.json<{ runs: RunInfo[] }>('/api/backups');
    run = res.body.runs.find((r) => r.id === id);
    if (run && run.status !== 'running') break;
    if (Date.now() > deadline) throw new Error(`backup #${id} still ${run?.status ?? 'missing'} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return run!;
}

/**
 * Every control (button, select, input, textarea, link, summary) that is
 * visible in `scope` (a CSS selector; default main and header), scrolled into
 * view one by one, whose bounding box leaves 0..width horizontally.
 * Returns descriptions of those that do, and how many were checked.
 */
export async function controlsOutside(page: Page, width: number, scope = 'main, header'): Promise<{ checked: number; outside: string[] }> {
  const controls = page.locator(`:is(${scope}) :is(button, select, input:not([type="hidden"]), textarea, a[href], summary)`);
  const n = await controls.count();
  const outside: string[] = [];
  let checked = 0;
  for (let i = 0; i < n; i++) {
    const c = controls.nth(i);
    if (!(await c.isVisible())) continue;
    await c.scrollIntoViewIfNeeded();
    const box = await c.boundingBox();
    if (!box) continue;
    checked++;
    if (box.x < 0 || box.x + box.width > width + 0.5) {
      const what = await c.evaluate((el) => `${el.tagName.toLowerCase()} "${(el.getAttribute('aria-label') || el.textContent || (el as HTMLInputElement).name || el.id || '').trim().slice(0, 40)}"`);
      outside.push(`${what} at x=${Math.round(box.x)}..${Math.round(box.x + box.width)}`);
    }
  }
  return { checked, outside };
}
