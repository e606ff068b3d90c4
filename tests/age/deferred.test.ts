import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DeferredEncryption, createEncryptStream, decryptWithPassphrase, passphraseHeaderSize, wrapFileKey } from '@/lib/age';

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** A file written body first and prefix last is an ordinary age file. */
describe('DeferredEncryption', () => {
  for (const [reserved, bodyBytes] of [
    [1, 1],
    [2, 65536],
    [3, 65537],
    [1, 300_000],
  ] as const) {
    it(`round-trips with ${reserved} reserved chunks and ${bodyBytes} body bytes`, async () => {
      const fileKey = crypto.randomBytes(16);
      const d = new DeferredEncryption(fileKey, reserved, 10);
      const head = crypto.randomBytes(reserved * 65536);
      const tail = crypto.randomBytes(bodyBytes);
      // The same payload sealed in one pass, with the same key and nonce: its chunks after the reserved ones are the body.
      const whole = await collect(Readable.from([Buffer.concat([head, tail])]).pipe(createEncryptStream(fileKey, { nonce: d.nonce })));
      const reservedBytes = reserved * 65552;
      const body = whole.subarray(16 + reservedBytes);
      const stanza = await wrapFileKey('deferred passphrase', fileKey, { logN: 10 });
      const prefix = d.prefix(stanza, head);
      expect(prefix.length).toBe(d.prefixLength);
      expect(d.prefixLength).toBe(passphraseHeaderSize(10) + 16 + reserved * 65552);
      expect(d.payloadOffset).toBe(passphraseHeaderSize(10) + 16);
      // The reserved chunks sealed later are exactly those of the one pass.
      expect(prefix.subarray(d.payloadOffset).equals(whole.subarray(16, 16 + reservedBytes))).toBe(true);
      const file = Buffer.concat([prefix, body]);
      const plain = await collect(await decryptWithPassphrase(file, 'deferred passphrase'));
      expect(plain.equals(Buffer.concat([head, tail]))).toBe(true);
    });
  }

  it('refuses reserved plaintext of the wrong size', async () => {
    const fileKey = crypto.randomBytes(16);
    const d = new DeferredEncryption(fileKey, 2, 10);
    const stanza = await wrapFileKey('p', fileKey, { logN: 10 });
    expect(() => d.prefix(stanza, Buffer.alloc(65536))).toThrow(/fill the reserved chunks/);
  });
});
