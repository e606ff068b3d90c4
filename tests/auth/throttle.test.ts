import { beforeEach, describe, expect, it } from 'vitest';
import { THROTTLE_WINDOW_MS, checkThrottle, clearAccountFailures, recordFailure } from '@/lib/auth/throttle';
import { db } from '@/lib/db/client';

const T0 = Date.UTC(2030, 0, 15, 12, 0, 0);
const MINUTE = 60_000;
const ACCOUNT_MESSAGE = 'Too many failed sign-ins for this account. Try again in an hour.';
const ADDRESS_MESSAGE = 'Too many failed sign-ins from this address. Try again in an hour.';

/** n failures for one account, each from its own address (so only the account limit is in play). */
function failAccount(account: string, n: number, at = T0) {
  for (let i = 0; i < n; i++) recordFailure(account, `10.1.${Math.floor(i / 250)}.${i % 250}`, at + i);
}

function rowCount(where = '1 = 1', ...args: unknown[]): number {
  return (db().$client.prepare(`SELECT count(*) AS n FROM login_failures WHERE ${where}`).get(...args) as { n: number }).n;
}

beforeEach(() => {
  db().$client.exec('DELETE FROM login_failures');
});

describe('per-account throttle', () => {
  it('99 failures within the hour do not block; the 100th does, with a clear message', () => {
    failAccount('alice', 99);
    expect(checkThrottle('alice', '192.0.2.1', T0 + MINUTE)).toEqual({ blocked: false });
    recordFailure('alice', '192.0.2.99', T0 + 2 * MINUTE);
    expect(checkThrottle('alice', '192.0.2.1', T0 + 3 * MINUTE)).toEqual({ blocked: true, scope: 'account', message: ACCOUNT_MESSAGE });
  });

  it('a blocked account blocks from any address, even one that never failed', () => {
    failAccount('alice', 100);
    expect(checkThrottle('alice', '198.51.100.200', T0 + MINUTE)).toEqual({ blocked: true, scope: 'account', message: ACCOUNT_MESSAGE });
  });

  it('other accounts are unaffected', () => {
    failAccount('alice', 100);
    expect(checkThrottle('bob', '192.0.2.1', T0 + MINUTE)).toEqual({ blocked: false });
    expect(checkThrottle('alice2', '192.0.2.1', T0 + MINUTE)).toEqual({ blocked: false });
  });

  it('failures older than an hour do not count', () => {
    failAccount('alice', 100, T0);
    // Still inside the window just before the hour is up…
    expect(checkThrottle('alice', '192.0.2.1', T0 + THROTTLE_WINDOW_MS - MINUTE).blocked).toBe(true);
    // …and free again once the failures are more than an hour old.
    expect(checkThrottle('alice', '192.0.2.1', T0 + 100 + THROTTLE_WINDOW_MS + 1)).toEqual({ blocked: false });
  });

  it('old and new failures are counted over a sliding hour', () => {
    failAccount('alice', 60, T0);
    failAccount('alice', 40, T0 + 50 * MINUTE);
    expect(checkThrottle('alice', '192.0.2.1', T0 + 55 * MINUTE).blocked).toBe(true);
    // At T0 + 61 min the first 60 have aged out.
    expect(checkThrottle('alice', '192.0.2.1', T0 + 61 * MINUTE)).toEqual({ blocked: false });
  });

  it('recording a failure prunes failures older than the window', () => {
    failAccount('alice', 10, T0);
    expect(rowCount()).toBe(10);
    recordFailure('bob', '192.0.2.1', T0 + THROTTLE_WINDOW_MS + MINUTE);
    expect(rowCount()).toBe(1);
    expect(rowCount('account = ?', 'bob')).toBe(1);
  });

  it('clearAccountFailures unblocks that account and leaves other accounts\u2019 failures alone', () => {
    failAccount('alice', 100);
    failAccount('bob', 100);
    clearAccountFailures('alice');
    expect(checkThrottle('alice', '192.0.2.1', T0 + MINUTE)).toEqual({ blocked: false });
    expect(rowCount('account = ?', 'alice')).toBe(0);
    expect(rowCount('account = ?', 'bob')).toBe(100);
    expect(checkThrottle('bob', '192.0.2.1', T0 + MINUTE)).toEqual({ blocked: true, scope: 'account', message: ACCOUNT_MESSAGE });
  });

  it('account names are matched exactly (no LIKE wildcards)', () => {
    failAccount('a%', 100);
    expect(checkThrottle('alice', '192.0.2.1', T0 + MINUTE)).toEqual({ blocked: false });
    expect(checkThrottle('a%', '192.0.2.1', T0 + MINUTE).blocked).toBe(true);
  });
});

describe('per-address throttle', () => {
  const IP = '203.0.113.7';

  it('100 failures from one address across many accounts block that address for every account', () => {
    for (let i = 0; i < 99; i++) recordFailure(`user${i}`, IP, T0 + i);
    expect(checkThrottle('fresh-account', IP, T0 + MINUTE)).toEqual({ blocked: false });
    recordFailure('user99', IP, T0 + 100);
    expect(checkThrottle('fresh-account', IP, T0 + MINUTE)).toEqual({ blocked: true, scope: 'address', message: ADDRESS_MESSAGE });
  });

  it('other addresses are unaffected', () => {
    for (let i = 0; i < 100; i++) recordFailure(`user${i}`, IP, T0 + i);
    expect(checkThrottle('fresh-account', '203.0.113.8', T0 + MINUTE)).toEqual({ blocked: false });
    expect(checkThrottle('user5', '203.0.113.8', T0 + MINUTE)).toEqual({ blocked: false });
  });

  it('address failures older than an hour do not count', () => {
    for (let i = 0; i < 100; i++) recordFailure(`user${i}`, IP, T0);
    expect(checkThrottle('fresh-account', IP, T0 + THROTTLE_WINDOW_MS + 1)).toEqual({ blocked: false });
  });

  it('a successful sign-in clears only that account\u2019s failures from the address count', () => {
    for (let i = 0; i < 60; i++) recordFailure('alice', IP, T0 + i);
    for (let i = 0; i < 40; i++) recordFailure('mallory', IP, T0 + 100 + i);
    expect(checkThrottle('alice', IP, T0 + MINUTE)).toEqual({ blocked: true, scope: 'address', message: ADDRESS_MESSAGE });
    clearAccountFailures('alice');
    expect(checkThrottle('alice', IP, T0 + MINUTE)).toEqual({ blocked: false });
    expect(rowCount('ip = ?', IP)).toBe(40);
  });
});
