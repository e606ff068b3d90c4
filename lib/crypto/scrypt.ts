import crypto from 'node:crypto';

/**
 * scrypt, asynchronously (on the thread pool), with Node's memory cap raised
 * to what the parameters need: Node wants 128·r·(N + p + 2) bytes and stops
 * at 32 MiB by default (logN 14 at r 8). The one place the console runs it:
 * password and DMS verifiers, the manifest signing key (lib/age, which
 * imports nothing of the console, runs its own for the wrap key).
 */
export function scryptKey(secret: crypto.BinaryLike, salt: crypto.BinaryLike, keyLen: number, params: { logN: number; r: number; p: number }): Promise<Buffer> {
  const N = 2 ** params.logN;
  const maxmem = 128 * params.r * (N + params.p + 2) + (16 << 20);
  return new Promise((resolve, reject) => {
    crypto.scrypt(secret, salt, keyLen, { N, r: params.r, p: params.p, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}
