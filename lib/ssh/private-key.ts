import crypto from 'node:crypto';
import { utils as sshUtils } from 'ssh2';

/**
 * Private keys for SSH login, as users paste them. ssh2 reads the OpenSSH
 * format ("BEGIN OPENSSH PRIVATE KEY", ssh-keygen's default; passphrase:
 * bcrypt-pbkdf + AES) and traditional PEM ("BEGIN RSA / EC / DSA PRIVATE
 * KEY", encrypted with Proc-Type/DEK-Info), but not PKCS#8 ("BEGIN PRIVATE
 * KEY", "BEGIN ENCRYPTED PRIVATE KEY": ssh-keygen -m PKCS8, openssl genpkey).
 * PKCS#8 RSA and ECDSA keys are rewritten here, in memory only, into the
 * traditional PEM of the same key (through Node's crypto, which reads
 * PKCS#8); a PKCS#8 Ed25519 key has no traditional PEM form and is refused
 * with the command that converts it.
 */
export type UsableKey = { privateKey: string; passphrase?: string };

export type KeyProblem = { field: 'privateKey' | 'passphrase'; message: string };

const PKCS8 = /-----BEGIN (ENCRYPTED )?PRIVATE KEY-----/;

/** The key as ssh2 can read it, or why it cannot be used (in words, at the field to fix). */
export function usablePrivateKey(privateKey: string, passphrase?: string): UsableKey | KeyProblem {
  let key = privateKey;
  let pass = passphrase;
  const pkcs8 = PKCS8.exec(privateKey);
  if (pkcs8) {
    if (pkcs8[1] && passphrase === undefined) return { field: 'passphrase', message: 'This private key is encrypted: enter its passphrase.' };
    let k: crypto.KeyObject;
    try {
      k = crypto.createPrivateKey({ key: privateKey, format: 'pem', passphrase: pkcs8[1] ? passphrase : undefined });
    } catch {
      return pkcs8[1]
        ? { field: 'passphrase', message: 'The passphrase does not open this private key.' }
        : { field: 'privateKey', message: 'This PKCS#8 private key cannot be read.' };
    }
    if (k.asymmetricKeyType === 'rsa') key = k.export({ type: 'pkcs1', format: 'pem' }).toString();
    else if (k.asymmetricKeyType === 'ec') key = k.export({ type: 'sec1', format: 'pem' }).toString();
    else {
      return {
        field: 'privateKey',
        message: `A ${k.asymmetricKeyType ?? 'PKCS#8'} key in PKCS#8 format ("BEGIN PRIVATE KEY") cannot be used; convert it to the OpenSSH format with: ssh-keygen -p -f KEYFILE`,
      };
    }
    pass = undefined;
  }
  const parsed = sshUtils.parseKey(key, pass);
  if (parsed instanceof Error) {
    const m = parsed.message;
    if (/no passphrase given/i.test(m)) return { field: 'passphrase', message: 'This private key is encrypted: enter its passphrase.' };
    if (/bad passphrase|decrypt|integrity/i.test(m)) return { field: 'passphrase', message: 'The passphrase does not open this private key.' };
    return { field: 'privateKey', message: 'This is not a private key in PEM or OpenSSH format (it starts with -----BEGIN … PRIVATE KEY-----).' };
  }
  const first = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!first || first.getPrivatePEM() === null) {
    return { field: 'privateKey', message: 'This is a public key; paste the private key (-----BEGIN … PRIVATE KEY-----).' };
  }
  return pass === undefined ? { privateKey: key } : { privateKey: key, passphrase: pass };
}

export function isKeyProblem(v: UsableKey | KeyProblem): v is KeyProblem {
  return 'field' in v;
}
