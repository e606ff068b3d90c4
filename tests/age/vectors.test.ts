import { describe, expect, it } from 'vitest';
import { AgeHeaderError, AgeNoMatchError, decryptWithFileKey, decryptWithPassphrase, encryptWithFileKey } from '@/lib/age';
import { parseCompleteHeader } from '@/lib/age/header';
import { checkOutcome, run, vectors } from './cctv';
import { collect, sha256, through } from './helpers';

/**
 * The C2SP age test kit (npm cctv-age, read in cctv.ts):
 *
 * - scrypt vectors (they carry a `passphrase`) run end to end through
 *   decryptWithPassphrase.
 * - Every other non-armored vector runs through the generic header parser,
 *   the header MAC and STREAM with the vector's `file key`
 *   (decryptWithFileKey), and also through decryptWithPassphrase, which must
 *   refuse it as not passphrase-encrypted unless its header is malformed.
 * - Every success vector re-encrypts byte for byte from its plaintext, file
 *   key, stanzas and nonce (our header encoding, MAC and STREAM sealing).
 * - Armored vectors are skipped: backups are binary files; we neither write
 *   nor read the optional ASCII armor (PEM), so those vectors test code we
 *   don't have.
 */

/**
 * Header failures that only an X25519 or ML-KEM-768+X25519 identity can
 * detect: a wrong argument count, a share or encapsulated key of the wrong
 * length or in non-canonical base64 (arguments are opaque strings to the
 * generic parser), a wrapped file key of the wrong length, a low-order or
 * identity point. The format's generic grammar accepts these headers, and
 * the C2SP spec makes such checks the identity's job: our X25519 identities
 * refuse the x25519_* ones (x25519-vectors.test.ts runs every vector with
 * an X25519 identity end to end); we have no ML-KEM-768+X25519 identity.
 * Our passphrase reader refuses them all as not passphrase-encrypted.
 */
const RECIPIENT_SPECIFIC_HEADER_FAILURES = new Set([
  'hybrid_extra_argument',
  'hybrid_identity',
  'hybrid_long_file_key',
  'hybrid_long_share',
  'hybrid_low_order',
  'hybrid_not_canonical_enc',
  'hybrid_short_share',
  'hybrid_x25519_arg',
  'x25519_extra_argument',
  'x25519_identity',
  'x25519_long_file_key',
  'x25519_long_share',
  'x25519_low_order',
  'x25519_not_canonical_share',
  'x25519_short_share',
]);

describe('C2SP age test vectors (cctv-age)', () => {
  it('has the vectors', () => {
    expect(vectors.length).toBeGreaterThan(100);
    expect(vectors.filter((v) => v.passphrases.length > 0).length).toBeGreaterThan(15);
  });

  const applicable = vectors.filter((v) => !v.armored);
  const scrypt = applicable.filter((v) => v.passphrases.length > 0);
  const others = applicable.filter((v) => v.passphrases.length === 0);

  describe('scrypt vectors, end to end with the passphrase', () => {
    it.each(scrypt.map((v) => [v.name, v] as const))('%s', async (_name, v) => {
      for (const passphrase of v.passphrases) {
        checkOutcome(v, await run(() => decryptWithPassphrase(v.file, passphrase)));
      }
    });
  });

  describe('other vectors: generic header, MAC and STREAM with the file key', () => {
    it.each(others.map((v) => [v.name, v] as const))('%s', async (_name, v) => {
      if (!v.fileKey) throw new Error('vector without a file key');
      const recipientSpecific = RECIPIENT_SPECIFIC_HEADER_FAILURES.has(v.name);
      if (recipientSpecific) {
        expect(v.expect).toBe('header failure');
        // The generic grammar accepts it (if this fails, the header parser now catches it: drop it from the list).
        expect(() => parseCompleteHeader(v.file)).not.toThrow();
        if (v.fileKey.length !== 16) {
          // *_long_file_key: the "file key" the stanza wraps is 25 bytes; the low-level API refuses such a key.
          await expect(decryptWithFileKey(v.file, v.fileKey)).rejects.toThrow(TypeError);
        }
      } else if (v.expect === 'no match') {
        // The header parses, and with the file key its MAC and payload check out: the stanza is just not one we can open.
        const outcome = await run(() => decryptWithFileKey(v.file, v.fileKey!));
        expect(outcome.error).toBeNull();
        if (v.payload) expect(sha256(outcome.data)).toBe(v.payload);
      } else {
        checkOutcome(v, await run(() => decryptWithFileKey(v.file, v.fileKey!)));
      }

      // Our product path: only passphrase files open; malformed headers are header errors first.
      const viaPassphrase = await run(() => decryptWithPassphrase(v.file, 'irrelevant'));
      if (v.expect === 'header failure' && !recipientSpecific) {
        expect(viaPassphrase.error).toBeInstanceOf(AgeHeaderError);
      } else {
        expect(viaPassphrase.error).toBeInstanceOf(AgeNoMatchError);
        expect((viaPassphrase.error as AgeNoMatchError).reason).toBe('not-passphrase-encrypted');
      }
      expect(viaPassphrase.data.length).toBe(0);
    });
  });

  describe('success vectors re-encrypt byte for byte (header encoding, MAC and STREAM)', () => {
    const successes = applicable.filter((v) => v.expect === 'success' && v.fileKey);
    it.each(successes.map((v) => [v.name, v] as const))('%s', async (_name, v) => {
      const { header, size } = parseCompleteHeader(v.file);
      const plaintext = (await collect(await decryptWithFileKey(v.file, v.fileKey!))).data;
      const nonce = v.file.subarray(size, size + 16);
      const { data, error } = await through(encryptWithFileKey(v.fileKey!, header.stanzas, { nonce }), plaintext);
      expect(error).toBeNull();
      expect(data.equals(v.file)).toBe(true);
    });
  });

  it('skips only the armored vectors', () => {
    const skipped = vectors.filter((v) => v.armored);
    expect(skipped.every((v) => v.name.startsWith('armor_'))).toBe(true);
    expect(skipped.length + applicable.length).toBe(vectors.length);
  });
});
