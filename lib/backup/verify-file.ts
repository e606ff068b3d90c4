import crypto from 'node:crypto';
import { Transform } from 'node:stream';
import type { Writable } from 'node:stream';
import type { StorageTarget } from '../storage/types';
import { decryptWithPassphrase } from '../age';
import type { ManifestMember } from './manifest';
import { verifyArchive, type VerifiedBackup } from './verify-archive';

/**
 * Verifies a backup file on a storage target with nothing but the DMS, as
 * any appliance would: age decryption (header MAC, every chunk
 * authenticated, no truncation or extra data), then the archive (signed
 * manifest, every member's size and SHA-256). Also returns the SHA-256 of
 * the file's bytes as stored.
 */
export async function verifyBackupFile(
  target: StorageTarget,
  name: string,
  dms: string,
  opts: { signal?: AbortSignal; sink?: (member: ManifestMember) => Promise<Writable | null> } = {},
): Promise<VerifiedBackup & { checksum: string }> {
  const hash = crypto.createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const stored = await target.read(name);
  const tapped = stored.pipe(tap);
  stored.on('error', (err) => tap.destroy(err));
  try {
    // Rejects at once on a wrong DMS or a damaged header; payload damage errors the plaintext stream.
    const plain = await decryptWithPassphrase(tapped, dms);
    opts.signal?.addEventListener('abort', () => plain.destroy(opts.signal!.reason as Error), { once: true });
    const verified = await verifyArchive(plain, dms, { sink: opts.sink });
    return { ...verified, checksum: hash.digest('hex') };
  } finally {
    stored.destroy();
  }
}
