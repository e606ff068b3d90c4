import crypto from 'node:crypto';
import { Transform } from 'node:stream';
import { storageError } from '../storage/errors';
import type { StorageTarget } from '../storage/types';
import { decryptWithPassphrase } from '../age';
import { verifyArchive, type VerifiedBackup } from './verify-archive';
import { verifyLocalFile, type VerifyOptions } from './verify-local';

/**
 * Verifies a backup file on a storage target with nothing but the DMS, as
 * any appliance would: age decryption (header MAC, every chunk
 * authenticated, no truncation or extra data), then the archive (signed
 * manifest, every member's size and SHA-256). Also returns the SHA-256 of
 * the file's bytes as stored (`checksum`).
 *
 * `sink(member)` may return a Writable that receives that member's
 * plaintext, in order, with backpressure (a slow sink slows the read), or
 * null. Nothing is verified until the promise resolves: a restore keeps what
 * its sinks wrote aside until then. A damaged file rejects with an
 * AgeError or a BackupVerifyError in words. `onProgress(bytesRead,
 * totalBytes)` follows the stored file's bytes. With `recordedChecksum` (see
 * VerifyOptions) the file is not hashed and that checksum is answered.
 *
 * A file this machine can read directly (local folder, USB drive) is read
 * once into shared memory and checked on both cores (verify-local.ts);
 * others (NFS) stream through one decryption here.
 */
export async function verifyBackupFile(target: StorageTarget, name: string, dms: string, opts: VerifyOptions = {}): Promise<VerifiedBackup & { checksum: string }> {
  if (target.localPath) {
    // Goes through the target first, as read() would (a USB drive is attached and mounted for it).
    const entry = await target.stat(name);
    if (!entry || entry.type === 'directory') throw storageError(target.label, `read ${name}`, Object.assign(new Error('not a file'), { code: entry ? 'EISDIR' : 'ENOENT' }));
    return verifyLocalFile(target.localPath(name), dms, { ...opts, openFailed: (err) => storageError(target.label, `read ${name}`, err) });
  }
  const hash = opts.recordedChecksum ? null : crypto.createHash('sha256');
  const total = opts.onProgress ? ((await target.stat(name))?.size ?? 0) : 0;
  let read = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash?.update(chunk);
      read += chunk.length;
      opts.onProgress?.(read, total);
      cb(null, chunk);
    },
  });
  const stored = await target.read(name);
  const tapped = stored.pipe(tap);
  stored.on('error', (err) => tap.destroy(err));
  try {
    // Rejects at once on a wrong DMS or a damaged header; payload damage errors the plaintext stream.
    const plain = await decryptWithPassphrase(tapped, dms, { keyCache: opts.keyCache?.files });
    opts.signal?.addEventListener('abort', () => plain.destroy(opts.signal!.reason as Error), { once: true });
    const verified = await verifyArchive(plain, dms, { sink: opts.sink, signal: opts.signal, keyCache: opts.keyCache });
    return { ...verified, checksum: hash ? hash.digest('hex') : opts.recordedChecksum! };
  } finally {
    stored.destroy();
  }
}
