import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
  vi.resetModules();
});

async function freshEnv(vars: Record<string, string | undefined>) {
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  vi.resetModules();
  return import('@/lib/env');
}

describe('env', () => {
  it('defaults: HTTPS on 8443, 100 failures per account and per address', async () => {
    const { env } = await freshEnv({ WEBCONF_HTTPS_PORT: undefined, WEBCONF_HTTPS: undefined, WEBCONF_LOGIN_MAX_FAILURES_PER_ACCOUNT: undefined, WEBCONF_LOGIN_MAX_FAILURES_PER_ADDRESS: undefined, WEBCONF_HTTP_PORT: undefined });
    expect(env()).toMatchObject({ WEBCONF_HTTPS_PORT: 8443, WEBCONF_HTTPS: 'on', WEBCONF_LOGIN_MAX_FAILURES_PER_ACCOUNT: 100, WEBCONF_LOGIN_MAX_FAILURES_PER_ADDRESS: 100 });
    expect(env().WEBCONF_HTTP_PORT).toBeUndefined();
  });

  it('dataDir is the configured folder, made absolute', async () => {
    const { dataDir } = await freshEnv({ WEBCONF_DATA_DIR: 'relative/data' });
    expect(dataDir()).toBe(path.resolve('relative/data'));
  });

  it.each([
    ['WEBCONF_HTTPS_PORT', '70000'],
    ['WEBCONF_HTTPS_PORT', 'abc'],
    ['WEBCONF_HTTPS', 'yes'],
    ['WEBCONF_LOG_LEVEL', 'verbose'],
    ['NEXTAUTH_SECRET', 'too-short'],
    ['NEXTAUTH_URL', 'not a url'],
    ['WEBCONF_LOGIN_MAX_FAILURES_PER_ACCOUNT', '0'],
  ])('%s=%j is refused, naming the variable', async (name, value) => {
    const { env } = await freshEnv({ [name]: value });
    expect(() => env()).toThrow(new RegExp(`Invalid environment:[\\s\\S]*${name}`));
  });

  it('certificateNames: the configured names plus the loopback names, without duplicates', async () => {
    const { certificateNames } = await freshEnv({ WEBCONF_HOSTNAMES: ' backup.example , 10.0.0.5,,localhost ' });
    expect(certificateNames()).toEqual(['backup.example', '10.0.0.5', 'localhost', '127.0.0.1', '::1']);
  });

  it('certificateNames without configuration: the machine name and loopback', async () => {
    const { certificateNames } = await freshEnv({ WEBCONF_HOSTNAMES: undefined });
    expect(certificateNames()).toEqual([...new Set([os.hostname(), 'localhost', '127.0.0.1', '::1'])]);
  });

  it('isSecureOrigin follows NEXTAUTH_URL', async () => {
    const mod = await freshEnv({ NEXTAUTH_URL: 'https://console.example' });
    expect(mod.isSecureOrigin()).toBe(true);
    process.env.NEXTAUTH_URL = 'http://127.0.0.1:3000';
    expect(mod.isSecureOrigin()).toBe(false);
    delete process.env.NEXTAUTH_URL;
    expect(mod.isSecureOrigin()).toBe(false);
  });
});
