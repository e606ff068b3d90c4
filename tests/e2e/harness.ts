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
