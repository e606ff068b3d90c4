import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DeferredEncryption, decryptWithPassphrase, passphraseHeaderSize, wrapFileKey } from '@/lib/backup/age';

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
      const body = await collect(Readable.from([tail]).pipe(d.body()));
      const stanza = await wrapFileKey('deferred passphrase', fileKey, { logN: 10 });
      const prefix = d.prefix(stanza, head);
      expect(prefix.length).toBe(d.prefixLength);
      expect(d.prefixLength).toBe(passphraseHeaderSize(10) + 16 + reserved * 65552);
      const file = Buffer.concat([prefix, body]);
      const plain = await collect(await decryptWithPassphrase(file, 'deferred passphrase'));
      expect(plain.equals(Buffer.concat([head, tail]))).toBe(true);
    });
  }

  it('refuses an empty body, whose last chunk would be misplaced', async () => {
    const d = new DeferredEncryption(crypto.randomBytes(16), 1, 10);
    await expect(collect(Readable.from([]).pipe(d.body()))).rejects.toThrow(/at least one byte/);
  });

  it('refuses reserved plaintext of the wrong size', async () => {
    const fileKey = crypto.randomBytes(16);
    const d = new DeferredEncryption(fileKey, 2, 10);
    const stanza = await wrapFileKey('p', fileKey, { logN: 10 });
    expect(() => d.prefix(stanza, Buffer.alloc(65536))).toThrow(/fill the reserved chunks/);
  });
});
