import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDecryptStream, createEncryptStream, DEFAULT_LOG_N, encryptedSize, encryptWithPassphrase } from '@/lib/age';
import { CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, PAYLOAD_NONCE_SIZE, TAG_SIZE } from '@/lib/age/format';
import { parseHeader } from '@/lib/age/header';
import { decryptBuffer, encryptBuffer, through, TEST_LOG_N } from './helpers';

const SIZES = [0, 1, 65535, 65536, 65537, 3 * 65536, 3 * 65536 + 1, 5 * 1024 * 1024 + 333];

function payloadSize(n: number): number {
  const chunks = Math.max(1, Math.ceil(n / CHUNK_SIZE));
  return PAYLOAD_NONCE_SIZE + n + chunks * TAG_SIZE;
}

describe('passphrase round trip', () => {
  it.each(SIZES)('%i bytes', async (size) => {
    const plaintext = crypto.randomBytes(size);
    const file = await encryptBuffer(plaintext);
    const { header, size: headerSize } = parseHeader(file)!;
    expect(header.stanzas).toHaveLength(1);
    expect(header.stanzas[0]!.type).toBe('scrypt');
    expect(header.stanzas[0]!.args[1]).toBe(String(TEST_LOG_N));
    expect(file.length - headerSize).toBe(payloadSize(size));
    expect(file.length).toBe(encryptedSize(size, { logN: TEST_LOG_N }));
    const { data, error } = await decryptBuffer(file);
    expect(error).toBeNull();
    expect(data.equals(plaintext)).toBe(true);
  });

  it('gives the same result whatever the write sizes on either side', async () => {
    const plaintext = crypto.randomBytes(3 * CHUNK_SIZE + 1000);
    for (const piece of [1000, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 200_000, plaintext.length]) {
      const file = await encryptBuffer(plaintext, undefined, undefined, piece);
      for (const readPiece of [7, ENCRYPTED_CHUNK_SIZE - 1, ENCRYPTED_CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE + 1, file.length]) {
        const { data, error } = await decryptBuffer(file, undefined, readPiece);
        expect(error).toBeNull();
        expect(data.equals(plaintext)).toBe(true);
      }
    }
  });

  it('byte-at-a-time writes and reads', async () => {
    const plaintext = crypto.randomBytes(CHUNK_SIZE + 3);
    const file = await encryptBuffer(plaintext, undefined, undefined, 1);
    const { data, error } = await decryptBuffer(file, undefined, 1);
    expect(error).toBeNull();
    expect(data.equals(plaintext)).toBe(true);
  });

  it('uses a fresh salt, file key and nonce for every file', async () => {
    const a = await encryptBuffer(Buffer.from('same'));
    const b = await encryptBuffer(Buffer.from('same'));
    expect(parseHeader(a)!.header.stanzas[0]!.args[0]).not.toBe(parseHeader(b)!.header.stanzas[0]!.args[0]);
    expect(a.equals(b)).toBe(false);
  });

  it('writes work factor 2^18 by default, and refuses out-of-range ones', async () => {
    const file = (await through(await encryptWithPassphrase('p'), Buffer.from('x'))).data;
    expect(parseHeader(file)!.header.stanzas[0]!.args[1]).toBe(String(DEFAULT_LOG_N));
    expect(file.length).toBe(encryptedSize(1));
    await expect(encryptWithPassphrase('p', { logN: 21 })).rejects.toThrow(RangeError);
    await expect(encryptWithPassphrase('p', { logN: 0 })).rejects.toThrow(RangeError);
    await expect(encryptWithPassphrase('', { logN: 10 })).rejects.toThrow(TypeError);
  });

  it('accepts a passphrase as bytes, the same as its UTF-8 string', async () => {
    const file = await encryptBuffer(Buffer.from('hello'), 'pässwörd');
    const { data } = await decryptBuffer(file, Buffer.from('pässwörd', 'utf8'));
    expect(data.toString()).toBe('hello');
  });
});

describe('payload streams with a known file key', () => {
  it('round trip, with the nonce read by the decrypt stream', async () => {
    const key = crypto.randomBytes(16);
    const plaintext = crypto.randomBytes(2 * CHUNK_SIZE + 5);
    const enc = await through(createEncryptStream(key), plaintext);
    expect(enc.data.length).toBe(payloadSize(plaintext.length));
    const dec = await through(createDecryptStream(key), enc.data, 3000);
    expect(dec.error).toBeNull();
    expect(dec.data.equals(plaintext)).toBe(true);
  });

  it('seals the chunks as the format says: counter nonce, last flag, full last chunk', async () => {
    const key = crypto.randomBytes(16);
    const nonce = crypto.randomBytes(16);
    const plaintext = crypto.randomBytes(2 * CHUNK_SIZE); // two full chunks, the second one final
    const { data } = await through(createEncryptStream(key, { nonce }), plaintext);
    expect(data.subarray(0, 16).equals(nonce)).toBe(true);
    const payloadKey = Buffer.from(crypto.hkdfSync('sha256', key, nonce, 'payload', 32));
    for (const [i, last] of [[0, 0], [1, 1]] as const) {
      const chunk = data.subarray(16 + i * ENCRYPTED_CHUNK_SIZE, 16 + (i + 1) * ENCRYPTED_CHUNK_SIZE);
      const chunkNonce = Buffer.alloc(12);
      chunkNonce[10] = i;
      chunkNonce[11] = last;
      const d = crypto.createDecipheriv('chacha20-poly1305', payloadKey, chunkNonce, { authTagLength: 16 });
      d.setAuthTag(chunk.subarray(CHUNK_SIZE));
      const out = Buffer.concat([d.update(chunk.subarray(0, CHUNK_SIZE)), d.final()]);
      expect(out.equals(plaintext.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE))).toBe(true);
    }
    expect(data.length).toBe(16 + 2 * ENCRYPTED_CHUNK_SIZE);
  });
});
