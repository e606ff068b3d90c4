import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A self-signed certificate for 127.0.0.1 and localhost, made with openssl
 * in a temp folder (EC P-256, 2 days), for the TLS servers the tests start
 * (SMTP STARTTLS, syslog over TLS, HTTPS). `other` is a second, unrelated
 * one: a client that trusts only `certPem` refuses it.
 */
export type TestCertificate = { dir: string; certFile: string; keyFile: string; certPem: string; keyPem: string; remove(): void };

export function makeTestCertificate(name = 'webconf-test'): TestCertificate {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-cert-'));
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', `/CN=${name}`,
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-addext', 'basicConstraints=critical,CA:TRUE',
      '-keyout', keyFile, '-out', certFile],
    { stdio: 'pipe' },
  );
  return {
    dir,
    certFile,
    keyFile,
    certPem: fs.readFileSync(certFile, 'utf8'),
    keyPem: fs.readFileSync(keyFile, 'utf8'),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
