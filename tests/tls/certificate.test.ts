import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import selfsigned from 'selfsigned';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateCertificate } from '@/lib/tls/certificate';

const NAMES = ['webconf.example.test', 'backup-01', 'localhost', '127.0.0.1', '::1'];
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-tls-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

let dir: string;
let n = 0;
beforeEach(() => {
  dir = path.join(root, `case-${++n}`);
  fs.mkdirSync(dir);
});

const tlsDir = () => path.join(dir, 'tls');
const certFile = () => path.join(tlsDir(), 'cert.pem');
const keyFile = () => path.join(tlsDir(), 'key.pem');
const markerFile = () => path.join(tlsDir(), 'self-signed.json');

/** An admin's own certificate and key, made outside the console. */
async function adminPair(cn: string, days = 90): Promise<{ cert: string; key: string }> {
  const now = Date.now();
  const pems = await selfsigned.generate([{ name: 'commonName', value: cn }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 60_000),
    notAfterDate: new Date(now + days * 24 * 3600 * 1000),
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: cn }] }],
  });
  return { cert: pems.cert, key: pems.private };
}

function sans(certPem: string): string {
  return new crypto.X509Certificate(certPem).subjectAltName ?? '';
}

describe('self-signed certificate', () => {
  it('a fresh data folder gets a certificate for exactly the names given', async () => {
    const m = await loadOrCreateCertificate(dir, NAMES);
    expect(m.selfSigned).toBe(true);
    expect(m.names).toEqual(NAMES);
    const x = new crypto.X509Certificate(m.cert);
    const alt = sans(m.cert);
    expect(alt).toContain('DNS:webconf.example.test');
    expect(alt).toContain('DNS:backup-01');
    expect(alt).toContain('DNS:localhost');
    expect(alt).toContain('IP Address:127.0.0.1');
    expect(alt).toMatch(/IP Address:(::1|0:0:0:0:0:0:0:1)\b/);
    // IP addresses are IP SANs, not DNS names.
    expect(alt).not.toContain('DNS:127.0.0.1');
    expect(x.subject).toContain('CN=webconf.example.test');
    expect(x.checkHost('webconf.example.test')).toBe('webconf.example.test');
    expect(x.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(x.checkHost('evil.example')).toBeUndefined();
    expect(x.ca).toBe(false);
    expect(x.fingerprint256).toBe(m.fingerprint);
  });

  it('is valid now and for about 825 days', async () => {
    const m = await loadOrCreateCertificate(dir, NAMES);
    const x = new crypto.X509Certificate(m.cert);
    const from = new Date(x.validFrom).getTime();
    const to = new Date(x.validTo).getTime();
    expect(from).toBeLessThanOrEqual(Date.now());
    expect((to - Date.now()) / 86_400_000).toBeGreaterThan(824);
    expect((to - Date.now()) / 86_400_000).toBeLessThan(826);
  });

  it('writes the key 0600 and the certificate and key as a matching pair', async () => {
    const m = await loadOrCreateCertificate(dir, NAMES);
    expect(fs.statSync(keyFile()).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(certFile(), 'utf8')).toBe(m.cert);
    expect(fs.readFileSync(keyFile(), 'utf8')).toBe(m.key);
    const pub = crypto.createPublicKey(crypto.createPrivateKey(m.key)).export({ type: 'spki', format: 'der' });
    const certPub = new crypto.X509Certificate(m.cert).publicKey.export({ type: 'spki', format: 'der' });
    expect(pub.equals(certPub)).toBe(true);
    expect(fs.readdirSync(tlsDir()).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a second start reuses the certificate (same fingerprint, files untouched)', async () => {
    const first = await loadOrCreateCertificate(dir, NAMES);
    const mtime = fs.statSync(certFile()).mtimeMs;
    const second = await loadOrCreateCertificate(dir, NAMES);
    expect(second.fingerprint).toBe(first.fingerprint);
    expect(second.key).toBe(first.key);
    expect(second.selfSigned).toBe(true);
    expect(fs.statSync(certFile()).mtimeMs).toBe(mtime);
  });

  it('a changed list of names makes a new certificate for the new names', async () => {
    const first = await loadOrCreateCertificate(dir, NAMES);
    const renamed = ['console.example.test', 'localhost', '127.0.0.1'];
    const second = await loadOrCreateCertificate(dir, renamed);
    expect(second.fingerprint).not.toBe(first.fingerprint);
    expect(second.selfSigned).toBe(true);
    expect(sans(second.cert)).toContain('DNS:console.example.test');
    expect(sans(second.cert)).not.toContain('webconf.example.test');
    expect(fs.readFileSync(certFile(), 'utf8')).toBe(second.cert);
    expect(JSON.parse(fs.readFileSync(markerFile(), 'utf8'))).toEqual({ fingerprint: second.fingerprint, names: renamed });
    // …and that one is then reused.
    expect((await loadOrCreateCertificate(dir, renamed)).fingerprint).toBe(second.fingerprint);
  });

  it('our own certificate whose key went missing is simply made again', async () => {
    const first = await loadOrCreateCertificate(dir, NAMES);
    fs.rmSync(keyFile());
    const second = await loadOrCreateCertificate(dir, NAMES);
    expect(second.selfSigned).toBe(true);
    expect(second.fingerprint).not.toBe(first.fingerprint);
    expect(fs.existsSync(keyFile())).toBe(true);
  });

  it('our own certificate close to expiry is renewed', async () => {
    const old = await adminPair(NAMES[0]!, 10);
    fs.mkdirSync(tlsDir(), { recursive: true });
    fs.writeFileSync(certFile(), old.cert);
    fs.writeFileSync(keyFile(), old.key, { mode: 0o600 });
    const oldFp = new crypto.X509Certificate(old.cert).fingerprint256;
    fs.writeFileSync(markerFile(), JSON.stringify({ fingerprint: oldFp, names: NAMES }));
    const m = await loadOrCreateCertificate(dir, NAMES);
    expect(m.fingerprint).not.toBe(oldFp);
    expect(m.selfSigned).toBe(true);
    expect((new Date(new crypto.X509Certificate(m.cert).validTo).getTime() - Date.now()) / 86_400_000).toBeGreaterThan(800);
  });
});

describe("an admin's own certificate", () => {
  it('placed as cert.pem/key.pem (no marker) is used and never overwritten, whatever the names', async () => {
    const own = await adminPair('backup.corp.example');
    fs.mkdirSync(tlsDir(), { recursive: true });
    fs.writeFileSync(certFile(), own.cert);
    fs.writeFileSync(keyFile(), own.key, { mode: 0o600 });

    const m = await loadOrCreateCertificate(dir, NAMES);
    expect(m.selfSigned).toBe(false);
    expect(m.cert).toBe(own.cert);
    expect(m.key).toBe(own.key);
    expect(m.fingerprint).toBe(new crypto.X509Certificate(own.cert).fingerprint256);

    await loadOrCreateCertificate(dir, ['something-else.example']);
    expect(fs.readFileSync(certFile(), 'utf8')).toBe(own.cert);
    expect(fs.readFileSync(keyFile(), 'utf8')).toBe(own.key);
    expect(fs.existsSync(markerFile())).toBe(false);
  });

  it('replacing our self-signed pair with an admin pair wins over the stale marker', async () => {
    await loadOrCreateCertificate(dir, NAMES);
    expect(fs.existsSync(markerFile())).toBe(true);
    const own = await adminPair('backup.corp.example');
    fs.writeFileSync(certFile(), own.cert);
    fs.writeFileSync(keyFile(), own.key);
    const m = await loadOrCreateCertificate(dir, ['other-name']);
    expect(m.selfSigned).toBe(false);
    expect(fs.readFileSync(certFile(), 'utf8')).toBe(own.cert);
  });

  it('an RSA certificate made with the openssl CLI is accepted as is', async () => {
    fs.mkdirSync(tlsDir(), { recursive: true });
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile(), '-out', certFile(), '-subj', '/CN=openssl.example', '-days', '30'], {
        stdio: 'ignore',
      });
    } catch {
      return; // no openssl CLI on this machine: the selfsigned-based tests above cover the case
    }
    const cert = fs.readFileSync(certFile(), 'utf8');
    const m = await loadOrCreateCertificate(dir, NAMES);
    expect(m.selfSigned).toBe(false);
    expect(m.cert).toBe(cert);
    expect(fs.readFileSync(certFile(), 'utf8')).toBe(cert);
  });

  it('a certificate and key that do not match → a clear error, and the files stay', async () => {
    const a = await adminPair('a.example');
    const b = await adminPair('b.example');
    fs.mkdirSync(tlsDir(), { recursive: true });
    fs.writeFileSync(certFile(), a.cert);
    fs.writeFileSync(keyFile(), b.key);
    await expect(loadOrCreateCertificate(dir, NAMES)).rejects.toThrow(/The TLS certificate and key do not form a usable pair/);
    expect(fs.readFileSync(certFile(), 'utf8')).toBe(a.cert);
    expect(fs.readFileSync(keyFile(), 'utf8')).toBe(b.key);
  });

  it('a cert.pem without key.pem is not overwritten by a self-signed one', async () => {
    const own = await adminPair('half.example');
    fs.mkdirSync(tlsDir(), { recursive: true });
    fs.writeFileSync(certFile(), own.cert);
    await expect(loadOrCreateCertificate(dir, NAMES)).rejects.toThrow(/key\.pem/);
    expect(fs.readFileSync(certFile(), 'utf8')).toBe(own.cert);
    expect(fs.existsSync(keyFile())).toBe(false);
  });

  it('an admin cert.pem without key.pem next to a stale marker of ours is not overwritten either', async () => {
    await loadOrCreateCertificate(dir, NAMES);
    const own = await adminPair('half.example');
    fs.writeFileSync(certFile(), own.cert);
    fs.rmSync(keyFile());
    await expect(loadOrCreateCertificate(dir, NAMES)).rejects.toThrow(/without .*key\.pem/);
    expect(fs.readFileSync(certFile(), 'utf8')).toBe(own.cert);
  });

  it('garbage in cert.pem → a clear error, not a silent replacement', async () => {
    const own = await adminPair('x.example');
    fs.mkdirSync(tlsDir(), { recursive: true });
    fs.writeFileSync(certFile(), 'not a certificate');
    fs.writeFileSync(keyFile(), own.key);
    await expect(loadOrCreateCertificate(dir, NAMES)).rejects.toThrow();
    expect(fs.readFileSync(certFile(), 'utf8')).toBe('not a certificate');
  });

  describe('given as files (WEBCONF_TLS_CERT / WEBCONF_TLS_KEY)', () => {
    it('uses them and writes nothing into the data folder', async () => {
      const own = await adminPair('files.example');
      const c = path.join(dir, 'own-cert.pem');
      const k = path.join(dir, 'own-key.pem');
      fs.writeFileSync(c, own.cert);
      fs.writeFileSync(k, own.key);
      const m = await loadOrCreateCertificate(dir, NAMES, { certFile: c, keyFile: k });
      expect(m).toMatchObject({ cert: own.cert, key: own.key, selfSigned: false });
      expect(fs.existsSync(tlsDir())).toBe(false);
    });

    it('only one of the two → asks for both', async () => {
      await expect(loadOrCreateCertificate(dir, NAMES, { certFile: '/nonexistent/cert.pem' })).rejects.toThrow(
        'Set both WEBCONF_TLS_CERT and WEBCONF_TLS_KEY, or neither.',
      );
      await expect(loadOrCreateCertificate(dir, NAMES, { keyFile: '/nonexistent/key.pem' })).rejects.toThrow(/Set both/);
    });

    it('a mismatched pair → the pair error', async () => {
      const a = await adminPair('a.example');
      const b = await adminPair('b.example');
      const c = path.join(dir, 'c.pem');
      const k = path.join(dir, 'k.pem');
      fs.writeFileSync(c, a.cert);
      fs.writeFileSync(k, b.key);
      await expect(loadOrCreateCertificate(dir, NAMES, { certFile: c, keyFile: k })).rejects.toThrow(/do not form a usable pair/);
    });
  });
});
