import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import selfsigned from 'selfsigned';

/**
 * The console's TLS certificate. An admin's own certificate and key (PEM)
 * win when given (WEBCONF_TLS_CERT and WEBCONF_TLS_KEY, or by replacing
 * <data>/tls/cert.pem and key.pem). Otherwise a self-signed certificate for
 * the appliance's names is made at first start, and made again when it is
 * about to expire or the names change. The marker file self-signed.json
 * tells our own certificate from an admin's, which is never overwritten.
 */
export type TlsMaterial = { cert: string; key: string; selfSigned: boolean; fingerprint: string; names: string[] };

const VALIDITY_DAYS = 825;
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

function fingerprintOf(certPem: string): string {
  return new crypto.X509Certificate(certPem).fingerprint256;
}

export async function loadOrCreateCertificate(dataDir: string, names: string[], override?: { certFile?: string; keyFile?: string }): Promise<TlsMaterial> {
  if (override?.certFile || override?.keyFile) {
    if (!override.certFile || !override.keyFile) throw new Error('Set both WEBCONF_TLS_CERT and WEBCONF_TLS_KEY, or neither.');
    return validated(fs.readFileSync(override.certFile, 'utf8'), fs.readFileSync(override.keyFile, 'utf8'), false, names);
  }
  const dir = path.join(dataDir, 'tls');
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  const marker = path.join(dir, 'self-signed.json');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });

  // A certificate without its key that is not ours is an admin's, half placed: never overwrite it.
  if (fs.existsSync(certFile) && !fs.existsSync(keyFile)) {
    let fingerprint: string | null = null;
    try {
      fingerprint = fingerprintOf(fs.readFileSync(certFile, 'utf8'));
    } catch {}
    if (!fs.existsSync(marker) || JSON.parse(fs.readFileSync(marker, 'utf8')).fingerprint !== fingerprint) {
      throw new Error(`Found ${certFile} without ${keyFile}: add its key, or remove the certificate to get a self-signed one.`);
    }
  }

  if (fs.existsSync(certFile) && fs.existsSync(keyFile)) {
    const cert = fs.readFileSync(certFile, 'utf8');
    const key = fs.readFileSync(keyFile, 'utf8');
    const ours = fs.existsSync(marker) && JSON.parse(fs.readFileSync(marker, 'utf8')).fingerprint === fingerprintOf(cert);
    if (!ours) return validated(cert, key, false, names);
    const x509 = new crypto.X509Certificate(cert);
    const sameNames = JSON.stringify(JSON.parse(fs.readFileSync(marker, 'utf8')).names) === JSON.stringify(names);
    if (sameNames && new Date(x509.validTo).getTime() - Date.now() > RENEW_BEFORE_MS) return validated(cert, key, true, names);
  }

  const now = new Date();
  const pems = await selfsigned.generate([{ name: 'commonName', value: names[0] ?? 'webconf' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + VALIDITY_DAYS * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: names.map((n) => (net.isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })),
      },
    ],
  });
  // Write under temporary names, then rename: a crash never leaves a half pair.
  fs.writeFileSync(`${keyFile}.tmp`, pems.private, { mode: 0o600 });
  fs.writeFileSync(`${certFile}.tmp`, pems.cert, { mode: 0o644 });
  fs.renameSync(`${keyFile}.tmp`, keyFile);
  fs.renameSync(`${certFile}.tmp`, certFile);
  fs.writeFileSync(marker, JSON.stringify({ fingerprint: fingerprintOf(pems.cert), names }), { mode: 0o644 });
  return validated(pems.cert, pems.private, true, names);
}

function validated(cert: string, key: string, selfSigned: boolean, names: string[]): TlsMaterial {
  try {
    tls.createSecureContext({ cert, key });
  } catch (err) {
    throw new Error(`The TLS certificate and key do not form a usable pair: ${(err as Error).message}`);
  }
  return { cert, key, selfSigned, fingerprint: fingerprintOf(cert), names };
}
