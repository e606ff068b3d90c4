import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { isSourceError, type SourceError } from '@/lib/sources/errors';
import { fetchRemoteFile, probeHostKey, type FetchRemoteOptions } from '@/lib/sources/fetch-remote';
import { pinHostKey, pinnedHostKey } from '@/lib/sources/known-hosts';
import type { RemoteCredentials, RemoteSource } from '@/lib/sources/schemas';
import { startSshServer, type SshServer } from '../helpers/sshd';

/**
 * lib/sources' remote fetch against a real OpenSSH sshd on loopback
 * (tests/helpers/sshd.ts): SFTP and SCP, password and key logins, host key
 * probing and pinning against what ssh-keygen says, and every failure a user
 * can meet, each leaving nothing behind in the temp folder.
 */
// Before the imports run: lib/log reads the level when it loads.
const dataDir = vi.hoisted(() => {
  const dir = require('node:fs').mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'webconf-sources-data-')) as string;
  process.env.WEBCONF_DATA_DIR = dir;
  process.env.WEBCONF_LOG_LEVEL = 'silent';
  return dir;
});

const admin = { id: 1, name: 'admin', ip: '127.0.0.1' };
const BIG = 8 * 1024 * 1024 + 4321;

let server: SshServer;
let big: { path: string; sha256: string };
let out: string;

function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function source(protocol: 'sftp' | 'scp', remotePath: string, credentials?: RemoteCredentials): RemoteSource {
  return { protocol, host: server.host, port: server.port, user: server.user, path: remotePath, credentials: credentials ?? { password: server.password } };
}

function fetchInto(src: RemoteSource, opts: Partial<FetchRemoteOptions> = {}) {
  return fetchRemoteFile(src, { dir: out, maxBytes: 1 << 30, readyTimeoutMs: 10_000, ...opts });
}

async function refusal(p: Promise<unknown>): Promise<SourceError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isSourceError(err), `expected a SourceError, got ${String(err)}`).toBe(true);
  return err as SourceError;
}

const leftovers = () => fs.readdirSync(out);

beforeAll(async () => {
  server = await startSshServer();
  big = { path: path.join(server.filesDir, 'console-backup.age'), sha256: '' };
  fs.writeFileSync(big.path, crypto.randomBytes(BIG), { mode: 0o644 });
  big.sha256 = sha256File(big.path);
  fs.writeFileSync(path.join(server.filesDir, "it's a backup (2).age"), 'quoted name', { mode: 0o644 });
  fs.writeFileSync(path.join(server.filesDir, 'root-only.age'), 'secret', { mode: 0o600 });
  fs.mkdirSync(path.join(server.filesDir, 'a-folder.age'));
});
afterAll(async () => {
  await server?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});
beforeEach(() => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-sources-out-'));
});
afterEach(() => fs.rmSync(out, { recursive: true, force: true }));

describe('host keys, before anything is pinned', () => {
  it('probeHostKey reads the ed25519 key, with the fingerprint ssh-keygen -lf prints, as unknown', async () => {
    const probe = await probeHostKey(server.host, server.port);
    expect(probe).toEqual({ keyType: 'ssh-ed25519', fingerprint: server.hostKeyFingerprint('ed25519'), pinned: 'unknown' });
    // And nothing was authenticated: sshd saw no user.
    expect(server.output()).not.toContain(server.user);
  });

  it('fetch refuses an unpinned host in key exchange, naming the key; no user name reaches the host, nothing is written', async () => {
    const before = server.output().length;
    const err = await refusal(fetchInto(source('sftp', big.path)));
    expect(err.reason).toBe('host_key_unknown');
    expect(err.message).toContain(server.hostKeyFingerprint('ed25519'));
    expect(err.message).toMatch(/not pinned, so nothing was sent/);
    expect(leftovers()).toEqual([]);
    // Give sshd a moment to log the closed connection, then check it never got to authentication.
    await new Promise((r) => setTimeout(r, 200));
    const log = server.output().slice(before);
    expect(log).not.toContain(server.user);
    expect(log).not.toMatch(/Accepted|Failed password|authenticating user/);
  });

  it('fetch with the right fingerprint given (the CLI’s --fingerprint) works without a pin, and pins nothing', async () => {
    const got = await fetchInto(source('sftp', big.path), { expectedFingerprint: server.hostKeyFingerprint('ed25519') });
    expect(got.sha256).toBe(big.sha256);
    expect(pinnedHostKey(server.host, server.port)).toBeNull();
  });

  it('fetch with a wrong fingerprint given is refused, naming both, and writes nothing', async () => {
    const wrong = server.hostKeyFingerprint('ecdsa');
    const err = await refusal(fetchInto(source('scp', big.path), { expectedFingerprint: wrong }));
    expect(err.reason).toBe('host_key_changed');
    expect(err.message).toContain(wrong);
    expect(err.message).toContain(server.hostKeyFingerprint('ed25519'));
    expect(leftovers()).toEqual([]);
  });

  it('refuses a malformed fingerprint before connecting', async () => {
    await expect(fetchInto(source('sftp', big.path), { expectedFingerprint: 'SHA256:short' })).rejects.toMatchObject({ code: 'bad_request', field: 'fingerprint' });
  });

  it('pinHostKey pins what the probe showed; the probe then says match', async () => {
    const probe = await probeHostKey(server.host, server.port);
    pinHostKey(server.host, server.port, probe.keyType, probe.fingerprint, admin);
    expect(await probeHostKey(server.host, server.port)).toMatchObject({ pinned: 'match', pinnedFingerprint: probe.fingerprint });
  });
});

describe('fetching with the key pinned', () => {
  const logins = () =>
    [
      ['password', { password: server.password }],
      ['an OpenSSH ed25519 key', { privateKey: server.keys.ed25519 }],
      ['an encrypted PEM ECDSA key', { privateKey: server.keys.ecdsaPem, passphrase: server.keys.ecdsaPemPassphrase }],
    ] as const;

  for (const protocol of ['sftp', 'scp'] as const) {
    for (const i of [0, 1, 2]) {
      it(`${protocol} with login ${i + 1} (password, ed25519 key, encrypted PEM key): the ${BIG}-byte file arrives byte-identical in a 0600 temp file`, async () => {
        const [, credentials] = logins()[i]!;
        const progress: [number, number | undefined][] = [];
        const got = await fetchInto(source(protocol, big.path, credentials), { onProgress: (n, t) => progress.push([n, t]) });
        expect(got.size).toBe(BIG);
        expect(sha256File(got.path)).toBe(big.sha256);
        expect(got.sha256).toBe(big.sha256);
        expect(path.dirname(got.path)).toBe(out);
        expect(leftovers()).toEqual([path.basename(got.path)]);
        expect(fs.statSync(got.path).mode & 0o777).toBe(0o600);
        expect(progress.at(-1)).toEqual([BIG, BIG]);
      });
    }

    it(`${protocol}: a name with a quote, spaces and parentheses`, async () => {
      const got = await fetchInto(source(protocol, path.join(server.filesDir, "it's a backup (2).age")));
      expect(fs.readFileSync(got.path, 'utf8')).toBe('quoted name');
    });

    it(`${protocol}: a path relative to the user's home folder`, async () => {
      const name = `home-${protocol}.age`;
      const file = path.join(server.home, name);
      fs.writeFileSync(file, `in the home folder ${protocol}`, { mode: 0o644 });
      try {
        const got = await fetchInto(source(protocol, name));
        expect(fs.readFileSync(got.path, 'utf8')).toBe(`in the home folder ${protocol}`);
      } finally {
        fs.rmSync(file, { force: true });
      }
    });

    it(`${protocol}: a missing file is refused in words`, async () => {
      const missing = path.join(server.filesDir, 'nope.age');
      const err = await refusal(fetchInto(source(protocol, missing)));
      expect(err.reason).toBe('no_such_file');
      expect(err.message).toBe(`${missing} does not exist on 127.0.0.1:${server.port}.`);
      expect(leftovers()).toEqual([]);
    });

    it(`${protocol}: a file the user may not read is refused in words`, async () => {
      const err = await refusal(fetchInto(source(protocol, path.join(server.filesDir, 'root-only.age'))));
      expect(err.reason).toBe('permission_denied');
      expect(err.message).toMatch(/may not read .*root-only\.age .*permission denied/);
      expect(leftovers()).toEqual([]);
    });

    it(`${protocol}: a folder is refused as not a regular file`, async () => {
      const err = await refusal(fetchInto(source(protocol, path.join(server.filesDir, 'a-folder.age'))));
      expect(err.reason).toBe('not_a_file');
      expect(leftovers()).toEqual([]);
    });

    it(`${protocol}: a file over maxBytes is refused from its announced size; no temp file is left`, async () => {
      const err = await refusal(fetchInto(source(protocol, big.path), { maxBytes: BIG - 1 }));
      expect(err.reason).toBe('too_large');
      expect(err.message).toMatch(/larger than the limit of 8\.4 MB/);
      expect(leftovers()).toEqual([]);
    });

    it(`${protocol}: abort in the middle of the transfer stops it and leaves no temp file`, async () => {
      const ac = new AbortController();
      let seen = 0;
      const err = await refusal(
        fetchInto(source(protocol, big.path), {
          signal: ac.signal,
          onProgress: (n) => {
            seen = n;
            if (n >= 1024 * 1024) ac.abort();
          },
        }),
      );
      expect(err.reason).toBe('aborted');
      expect(seen).toBeGreaterThan(0);
      expect(seen).toBeLessThan(BIG);
      expect(leftovers()).toEqual([]);
    });

    it(`${protocol}: a wrong password is refused in words, without repeating it`, async () => {
      const err = await refusal(fetchInto(source(protocol, big.path, { password: 'wrong-password-1234' })));
      expect(err.reason).toBe('credentials_rejected');
      expect(err.message).toBe(`127.0.0.1:${server.port} did not accept the user "${server.user}" with this password (it accepts: publickey, password).`);
      expect(err.message).not.toContain('wrong-password-1234');
      expect(leftovers()).toEqual([]);
    });
  }

  it('a key the host does not authorize is refused in words', async () => {
    const err = await refusal(fetchInto(source('sftp', big.path, { privateKey: server.keys.stranger })));
    expect(err.reason).toBe('credentials_rejected');
    expect(err.message).toMatch(/with this key/);
  });

  it('a wrong passphrase is refused before connecting, at the passphrase', async () => {
    const err = await refusal(fetchInto(source('sftp', big.path, { privateKey: server.keys.ecdsaPem, passphrase: 'nope' })));
    expect(err.reason).toBe('bad_private_key');
    expect(err.field).toBe('passphrase');
  });

  it('ends the login in time against a server that never speaks SSH', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      pinHostKey('127.0.0.1', port, 'ssh-ed25519', server.hostKeyFingerprint('ed25519'), admin);
      const err = await refusal(fetchRemoteFile({ ...source('sftp', big.path), port }, { dir: out, maxBytes: 1e9, readyTimeoutMs: 500 }));
      expect(err.reason).toBe('timed_out');
      expect(err.message).toBe(`127.0.0.1:${port} did not complete the SSH connection within 1 s.`);
    } finally {
      silent.close();
    }
  });

  it('says so when nothing listens on the port', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const err = await refusal(probeHostKey('127.0.0.1', port));
    expect(err.reason).toBe('connection_refused');
    expect(err.message).toMatch(/refused the connection/);
  });

  it('says so when the host name does not resolve', async () => {
    const err = await refusal(probeHostKey('no-such-host.invalid', 22));
    expect(err.reason).toBe('host_not_found');
    expect(err.message).toMatch(/no-such-host\.invalid/);
  });
});

describe('a host whose key changed', () => {
  it('probe says changed, fetch refuses naming both keys, the pin stays; re-pinning lets it in again', async () => {
    const oldFp = server.hostKeyFingerprint('ed25519');
    expect(pinnedHostKey(server.host, server.port)?.fingerprint).toBe(oldFp);
    await server.replaceHostKeys();
    const newFp = server.hostKeyFingerprint('ed25519');
    expect(newFp).not.toBe(oldFp);

    expect(await probeHostKey(server.host, server.port)).toEqual({
      keyType: 'ssh-ed25519',
      fingerprint: newFp,
      pinned: 'changed',
      pinnedFingerprint: oldFp,
      pinnedKeyType: 'ssh-ed25519',
    });
    for (const protocol of ['sftp', 'scp'] as const) {
      const err = await refusal(fetchInto(source(protocol, big.path)));
      expect(err.reason).toBe('host_key_changed');
      expect(err.message).toContain(oldFp);
      expect(err.message).toContain(newFp);
      expect(err.message).toMatch(/CHANGED.*nothing was sent to the host and the pinned key was kept/);
      expect(leftovers()).toEqual([]);
    }
    expect(pinnedHostKey(server.host, server.port)?.fingerprint).toBe(oldFp);

    pinHostKey(server.host, server.port, 'ssh-ed25519', newFp, admin);
    const got = await fetchInto(source('scp', big.path));
    expect(got.sha256).toBe(big.sha256);
  });

  it('a pinned ECDSA key makes the host present its ECDSA key, as OpenSSH does with known_hosts', async () => {
    pinHostKey(server.host, server.port, 'ecdsa-sha2-nistp256', server.hostKeyFingerprint('ecdsa'), admin);
    expect(await probeHostKey(server.host, server.port)).toMatchObject({ keyType: 'ecdsa-sha2-nistp256', fingerprint: server.hostKeyFingerprint('ecdsa'), pinned: 'match' });
    const got = await fetchInto(source('sftp', big.path));
    expect(got.sha256).toBe(big.sha256);
  });
});
