import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  fingerprintSchema,
  pinHostKeySchema,
  remoteSourceSchema,
  remoteUrlSchema,
  remoteUrlSourceSchema,
  uploadFileNameSchema,
} from '@/lib/sources/schemas';

/** Keys in the PEM forms users paste, made with Node's crypto (OpenSSH-format keys: the integration tests, made by ssh-keygen). */
const rsaPkcs1 = crypto.generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
const ecEncrypted = crypto.generateKeyPairSync('ec', {
  namedCurve: 'prime256v1',
  privateKeyEncoding: { type: 'sec1', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'open sesame' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
}).privateKey;
const ecPkcs8Encrypted = crypto.generateKeyPairSync('ec', {
  namedCurve: 'prime256v1',
  privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'open sesame' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
}).privateKey;
const ed25519Pkcs8 = crypto.generateKeyPairSync('ed25519', { privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;

const base = { protocol: 'sftp', host: 'nas.example.com', user: 'backup', path: '/srv/backups/console.age' };

/** The first issue's field and message. */
function refusal(result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }): { field: string; message: string } {
  expect(result.success).toBe(false);
  const issue = result.error!.issues[0]!;
  return { field: issue.path.join('.'), message: issue.message };
}

describe('remoteSourceSchema', () => {
  it('takes a password login, port 22 by default, and keeps the password as typed', () => {
    expect(remoteSourceSchema.parse({ ...base, password: ' pass word ' })).toEqual({
      protocol: 'sftp',
      host: 'nas.example.com',
      port: 22,
      user: 'backup',
      path: '/srv/backups/console.age',
      credentials: { password: ' pass word ' },
    });
  });

  it('takes a form’s strings: the port as text, SCP, a bracketed IPv6 host, a home-relative path', () => {
    expect(remoteSourceSchema.parse({ ...base, protocol: 'scp', host: ' [FD00::5] ', port: '2222', path: 'backups/x.age', password: 'p' })).toMatchObject({
      protocol: 'scp',
      host: 'fd00::5',
      port: 2222,
      path: 'backups/x.age',
    });
  });

  it('takes a traditional PEM key, and an encrypted one with its passphrase', () => {
    expect(remoteSourceSchema.parse({ ...base, privateKey: rsaPkcs1.privateKey }).credentials).toEqual({ privateKey: rsaPkcs1.privateKey });
    expect(remoteSourceSchema.parse({ ...base, privateKey: ecEncrypted, passphrase: 'open sesame' }).credentials).toEqual({ privateKey: ecEncrypted, passphrase: 'open sesame' });
  });

  it('takes an encrypted PKCS#8 ECDSA key and hands it on as the traditional PEM ssh2 reads', () => {
    const { credentials } = remoteSourceSchema.parse({ ...base, privateKey: ecPkcs8Encrypted, passphrase: 'open sesame' });
    expect(credentials).toEqual({ privateKey: expect.stringContaining('-----BEGIN EC PRIVATE KEY-----') });
    // The same key.
    const again = crypto.createPrivateKey((credentials as { privateKey: string }).privateKey).export({ format: 'jwk' });
    expect(again).toEqual(crypto.createPrivateKey({ key: ecPkcs8Encrypted, passphrase: 'open sesame' }).export({ format: 'jwk' }));
  });

  it.each([
    [{ host: '' }, 'host', /Enter the host/],
    [{ host: 'bad host' }, 'host', /not a host name/],
    [{ host: undefined }, 'host', /Enter the host/],
    [{ port: 0 }, 'port', /1 to 65535/],
    [{ port: 'ssh' }, 'port', /1 to 65535/],
    [{ port: 70000 }, 'port', /1 to 65535/],
    [{ user: ' ' }, 'user', /Enter the user name/],
    [{ user: 'a b' }, 'user', /spaces/],
    [{ path: '' }, 'path', /path of the backup file/],
    [{ path: '/srv/' }, 'path', /names a folder/],
    [{ path: '/srv/x\n.age' }, 'path', /invalid character/],
    [{ protocol: 'ftp' }, 'protocol', /SFTP or SCP/],
  ])('refuses %o at its field', (change, field, message) => {
    const r = refusal(remoteSourceSchema.safeParse({ ...base, password: 'p', ...change }));
    expect(r.field).toBe(field);
    expect(r.message).toMatch(message);
  });

  it.each([
    [{}, 'credentials', /Enter the password, or paste a private key/],
    [{ password: '' }, 'credentials', /Enter the password, or paste a private key/],
    [{ password: 'p', privateKey: rsaPkcs1.privateKey }, 'credentials', /either a password or a private key/],
    [{ privateKey: 'not a key' }, 'privateKey', /not a private key in PEM or OpenSSH format/],
    [{ privateKey: rsaPkcs1.publicKey }, 'privateKey', /not a private key/],
    [{ privateKey: ecEncrypted }, 'passphrase', /encrypted: enter its passphrase/],
    [{ privateKey: ecEncrypted, passphrase: 'wrong' }, 'passphrase', /passphrase does not open/],
    [{ privateKey: ecPkcs8Encrypted }, 'passphrase', /encrypted: enter its passphrase/],
    [{ privateKey: ecPkcs8Encrypted, passphrase: 'wrong' }, 'passphrase', /passphrase does not open/],
    [{ privateKey: ed25519Pkcs8 }, 'privateKey', /ssh-keygen -p -f KEYFILE/],
  ])('refuses credentials %#: at %s', (creds, field, message) => {
    const r = refusal(remoteSourceSchema.safeParse({ ...base, ...creds }));
    expect(r.field).toBe(field);
    expect(r.message).toMatch(message);
  });

  it('never puts a password or key in a message', () => {
    const r = remoteSourceSchema.safeParse({ ...base, password: 'hunter2-secret', privateKey: rsaPkcs1.privateKey });
    expect(JSON.stringify(r.error?.issues)).not.toContain('hunter2-secret');
    expect(JSON.stringify(r.error?.issues)).not.toContain('PRIVATE KEY');
  });
});

describe('remoteUrlSourceSchema', () => {
  it('takes the CLI’s address with the credentials beside it', () => {
    expect(remoteUrlSourceSchema.parse({ url: 'scp://backup@10.0.0.5:2222/srv/x.age', password: 'p' })).toEqual({
      protocol: 'scp',
      host: '10.0.0.5',
      port: 2222,
      user: 'backup',
      path: '/srv/x.age',
      credentials: { password: 'p' },
    });
  });

  it('says which part of the address is wrong', () => {
    const r = remoteUrlSchema.safeParse('sftp://backup@host:99999/x');
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toMatch(/1 to 65535/);
    expect((r.error!.issues[0] as { params?: { part?: string } }).params?.part).toBe('port');
  });

  it('refuses an address without credentials', () => {
    expect(refusal(remoteUrlSourceSchema.safeParse({ url: 'sftp://u@h/x' })).field).toBe('credentials');
  });
});

describe('fingerprintSchema', () => {
  const fp = `SHA256:${crypto.createHash('sha256').update('key').digest('base64').replace(/=+$/, '')}`;
  it.each([fp, ` ${fp} `, fp.slice(7), `sha256:${fp.slice(7)}`, `${fp}=`])('takes %s', (text) => {
    expect(fingerprintSchema.parse(text)).toBe(fp);
  });
  it.each(['', 'MD5:ab:cd', 'SHA256:short', `${fp}x`, `SHA256:${'!'.repeat(43)}`])('refuses %s', (text) => {
    expect(fingerprintSchema.safeParse(text).error?.issues[0]?.message).toMatch(/ssh-keygen -lf/);
  });
});

describe('pinHostKeySchema', () => {
  it('refuses a key type that is not an SSH key type', () => {
    const r = refusal(pinHostKeySchema.safeParse({ host: 'h', port: 22, keyType: 'ED25519 key', fingerprint: `SHA256:${'A'.repeat(43)}` }));
    expect(r.field).toBe('keyType');
  });
});

describe('uploadFileNameSchema', () => {
  it.each([
    [encodeURIComponent('Sicherung März.age'), 'Sicherung März.age'],
    ['..%2F..%2Fetc%2Fpasswd', 'passwd'],
    ['C%3A%5Cbackups%5Cx.age', 'x.age'],
    ['%E0%A4', 'upload.age'],
    [undefined, 'upload.age'],
    ['..', 'upload.age'],
    ['a%0Ab.age', 'ab.age'],
  ])('reads %s as %s', (raw, want) => {
    expect(uploadFileNameSchema.parse(raw)).toBe(want);
  });
});
