import crypto from 'node:crypto';
import { Writable } from 'node:stream';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  AgeError,
  AgeHeaderError,
  AgeMacError,
  AgeNoMatchError,
  AgePayloadError,
  createDecryptStream,
  decryptWithPassphrase,
  type AgePayloadReason,
} from '@/lib/age';
import { CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE } from '@/lib/age/format';
import { decodeBase64, encodeBase64, encodeHeader, encodeHeaderWithoutMac, parseHeader, serializeHeader } from '@/lib/age/header';
import { chunked, collect, decryptBuffer, encryptBuffer, PASS } from './helpers';

/** 6 chunks: 0..4 full, 5 (final) with 1000 bytes. */
const plaintext = crypto.randomBytes(5 * CHUNK_SIZE + 1000);
let file: Buffer;
let headerSize: number;
const chunkAt = (i: number) => headerSize + 16 + i * ENCRYPTED_CHUNK_SIZE;
const upToChunk = (i: number) => plaintext.subarray(0, i * CHUNK_SIZE);

beforeAll(async () => {
  file = await encryptBuffer(plaintext);
  headerSize = parseHeader(file)!.size;
  expect(file.length).toBe(chunkAt(5) + 1000 + 16);
});

function flip(buf: Buffer, offset: number, bit = 0): Buffer {
  const out = Buffer.from(buf);
  out[offset]! ^= 1 << bit;
  return out;
}

/** Reads the damaged file whole and in 4 KiB pieces; both must fail the same way, releasing exactly `released`. */
async function expectPayloadFailure(damaged: Buffer, reason: AgePayloadReason, chunk: number, released: Buffer) {
  for (const piece of [undefined, 4096]) {
    const { data, error, dataAfterError } = await decryptBuffer(damaged, PASS, piece);
    expect(error).toBeInstanceOf(AgePayloadError);
    expect((error as AgePayloadError).reason).toBe(reason);
    expect((error as AgePayloadError).chunk).toBe(chunk);
    expect(data.equals(released)).toBe(true);
    expect(dataAfterError).toBe(0);
  }
}

async function headerPhaseError(damaged: Buffer, passphrase = PASS): Promise<Error> {
  try {
    await decryptWithPassphrase(damaged, passphrase);
  } catch (err) {
    return err as Error;
  }
  throw new Error('the file opened');
}

/** Rewrites the header with edited stanzas/MAC, keeping the payload. */
function withHeader(edit: (h: NonNullable<ReturnType<typeof parseHeader>>['header']) => { macInput?: Buffer; mac?: Buffer }): Buffer {
  const { header, size } = parseHeader(file)!;
  const { macInput = header.macInput, mac = header.mac } = edit(header);
  return Buffer.concat([encodeHeader(macInput, mac), file.subarray(size)]);
}

describe('wrong passphrase and damaged header', () => {
  it('a wrong passphrase is AgeNoMatchError, before any plaintext', async () => {
    const err = await headerPhaseError(file, 'wrong horse battery staple');
    expect(err).toBeInstanceOf(AgeNoMatchError);
    expect((err as AgeNoMatchError).reason).toBe('wrong-passphrase');
    expect(err.message).toBe('Wrong Domain Master Secret: it does not open this backup file');
  });

  it('a flipped bit in the MAC is AgeMacError', async () => {
    const damaged = withHeader((h) => {
      const mac = Buffer.from(h.mac);
      mac[31]! ^= 0x80;
      return { mac };
    });
    const err = await headerPhaseError(damaged);
    expect(err).toBeInstanceOf(AgeMacError);
    expect(err.message).toBe('The backup file is damaged: its header failed authentication');
  });

  it('a changed header under the right file key still fails the MAC', async () => {
    // The stanza is intact (so the passphrase unwraps the key), but the MAC was made for other bytes.
    const damaged = withHeader((h) => ({ macInput: encodeHeaderWithoutMac(h.stanzas), mac: crypto.randomBytes(32) }));
    expect(await headerPhaseError(damaged)).toBeInstanceOf(AgeMacError);
  });

  it('a changed salt or wrapped key reads as a wrong passphrase (they feed the key derivation)', async () => {
    const salt = withHeader((h) => {
      const s = decodeBase64(h.stanzas[0]!.args[0]!)!;
      s[0]! ^= 1;
      h.stanzas[0]!.args[0] = encodeBase64(s);
      return { macInput: encodeHeaderWithoutMac(h.stanzas) };
    });
    expect(await headerPhaseError(salt)).toBeInstanceOf(AgeNoMatchError);
    const body = withHeader((h) => {
      h.stanzas[0]!.body[5]! ^= 1;
      return { macInput: encodeHeaderWithoutMac(h.stanzas) };
    });
    expect(await headerPhaseError(body)).toBeInstanceOf(AgeNoMatchError);
  });

  it('a flipped version line is AgeHeaderError', async () => {
    const err = await headerPhaseError(flip(file, 3));
    expect(err).toBeInstanceOf(AgeHeaderError);
    expect((err as AgeHeaderError).reason).toBe('not-age');
  });

  it('every single-bit flip anywhere in the header fails to open, with a header-phase error', async () => {
    for (let offset = 0; offset < headerSize; offset++) {
      for (const bit of [0, 5]) {
        const err = await headerPhaseError(flip(file, offset, bit));
        expect(err).toBeInstanceOf(AgeError);
        expect(err).not.toBeInstanceOf(AgePayloadError);
      }
    }
  }, 120_000);

  it('a work factor above 2^20 is refused before any scrypt work, naming the limit', async () => {
    const spy = vi.spyOn(crypto, 'scrypt');
    try {
      const stanza = { type: 'scrypt', args: [encodeBase64(crypto.randomBytes(16)), '21'], body: crypto.randomBytes(32) };
      const damaged = Buffer.concat([serializeHeader([stanza], crypto.randomBytes(16)), file.subarray(headerSize)]);
      const err = await headerPhaseError(damaged);
      expect(err).toBeInstanceOf(AgeHeaderError);
      expect((err as AgeHeaderError).reason).toBe('work-factor-too-high');
      expect(err.message).toBe('The backup file asks for scrypt work factor 2^21, above the accepted limit of 2^20');
      // A lower limit of the caller's own.
      const err2 = await decryptWithPassphrase(file, PASS, { maxLogN: 9 }).catch((e: Error) => e);
      expect((err2 as AgeHeaderError).reason).toBe('work-factor-too-high');
      expect(spy).not.toHaveBeenCalled();
      // The spy does see scrypt runs.
      await decryptWithPassphrase(file, PASS);
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });

  it('a file that is not passphrase-encrypted says so', async () => {
    const stanza = { type: 'X25519', args: [encodeBase64(crypto.randomBytes(32))], body: crypto.randomBytes(32) };
    const other = Buffer.concat([serializeHeader([stanza], crypto.randomBytes(16)), file.subarray(headerSize)]);
    const err = await headerPhaseError(other);
    expect(err).toBeInstanceOf(AgeNoMatchError);
    expect((err as AgeNoMatchError).reason).toBe('not-passphrase-encrypted');
  });
});

describe('damaged payload', () => {
  it('a flipped bit in the payload nonce fails chunk 0, releasing nothing', async () => {
    await expectPayloadFailure(flip(file, headerSize + 3), 'auth-failed', 0, Buffer.alloc(0));
  });

  it.each([
    ['first', 0],
    ['middle', 2],
    ['last', 5],
  ])('a flipped bit in the %s chunk fails that chunk, releasing only the chunks before it', async (_name, i) => {
    const damaged = flip(file, chunkAt(i) + 500, 3);
    await expectPayloadFailure(damaged, 'auth-failed', i, upToChunk(i));
    const err = (await decryptBuffer(damaged)).error!;
    expect(err.message).toBe(`The backup file is damaged: chunk ${i} failed authentication`);
  });

  it('a flipped bit in a tag fails that chunk', async () => {
    await expectPayloadFailure(flip(file, chunkAt(1) + CHUNK_SIZE + 15, 7), 'auth-failed', 1, upToChunk(1));
  });

  it('two swapped chunks fail at the first of them', async () => {
    const swapped = Buffer.concat([
      file.subarray(0, chunkAt(1)),
      file.subarray(chunkAt(2), chunkAt(3)),
      file.subarray(chunkAt(1), chunkAt(2)),
      file.subarray(chunkAt(3)),
    ]);
    expect(swapped.length).toBe(file.length);
    await expectPayloadFailure(swapped, 'auth-failed', 1, upToChunk(1));
  });

  it('a duplicated chunk fails where it was inserted', async () => {
    const dup = Buffer.concat([file.subarray(0, chunkAt(3)), file.subarray(chunkAt(2), chunkAt(3)), file.subarray(chunkAt(3))]);
    await expectPayloadFailure(dup, 'auth-failed', 3, upToChunk(3));
  });
});

describe('truncation', () => {
  it('inside the header, or before the nonce is complete: AgeHeaderError truncated', async () => {
    for (const end of [0, 10, headerSize - 1, headerSize, headerSize + 15]) {
      const err = await headerPhaseError(file.subarray(0, end));
      expect(err).toBeInstanceOf(AgeHeaderError);
      expect((err as AgeHeaderError).reason).toBe('truncated');
      expect(err.message).toMatch(/^The backup file is truncated: /);
    }
  });

  it('right after the nonce: no encrypted data', async () => {
    await expectPayloadFailure(file.subarray(0, headerSize + 16), 'truncated', 0, Buffer.alloc(0));
    const err = (await decryptBuffer(file.subarray(0, headerSize + 16))).error!;
    expect(err.message).toBe('The backup file is truncated: it has no encrypted data');
  });

  it('exactly at a chunk boundary: truncated, after releasing the authentic chunks', async () => {
    await expectPayloadFailure(file.subarray(0, chunkAt(4)), 'truncated', 4, upToChunk(4));
    const err = (await decryptBuffer(file.subarray(0, chunkAt(4)))).error!;
    expect(err.message).toBe('The backup file is truncated: it ends after chunk 3, before its final chunk');
  });

  it('dropping the last chunk: truncated', async () => {
    await expectPayloadFailure(file.subarray(0, chunkAt(5)), 'truncated', 5, upToChunk(5));
  });

  it('inside a chunk: that chunk fails', async () => {
    await expectPayloadFailure(file.subarray(0, chunkAt(2) + 12345), 'auth-failed', 2, upToChunk(2));
    await expectPayloadFailure(file.subarray(0, file.length - 1), 'auth-failed', 5, upToChunk(5));
  });

  it('inside the first tag bytes of a chunk: truncated', async () => {
    await expectPayloadFailure(file.subarray(0, chunkAt(3) + 10), 'truncated', 3, upToChunk(3));
  });
});

describe('appended data', () => {
  it('an extra chunk after the final one: trailing data', async () => {
    // A final chunk that is full, followed by a copy of chunk 0.
    const full = crypto.randomBytes(2 * CHUNK_SIZE);
    const f = await encryptBuffer(full);
    const size = parseHeader(f)!.size;
    const extended = Buffer.concat([f, f.subarray(size + 16, size + 16 + ENCRYPTED_CHUNK_SIZE)]);
    for (const piece of [undefined, 4096]) {
      const { data, error, dataAfterError } = await decryptBuffer(extended, PASS, piece);
      expect(error).toBeInstanceOf(AgePayloadError);
      expect((error as AgePayloadError).reason).toBe('trailing-data');
      expect(error!.message).toBe('The backup file is damaged: unexpected data after its final chunk (chunk 1)');
      expect(data.equals(full)).toBe(true); // all of it authentic, then the error
      expect(dataAfterError).toBe(0);
    }
  });

  it('garbage after a full final chunk: trailing data', async () => {
    const full = crypto.randomBytes(CHUNK_SIZE);
    const f = await encryptBuffer(full);
    for (const garbage of [1, 100, 70_000]) {
      const { error } = await decryptBuffer(Buffer.concat([f, crypto.randomBytes(garbage)]));
      expect((error as AgePayloadError).reason).toBe('trailing-data');
    }
  });

  it('garbage after a short final chunk: that chunk fails (its end is where the garbage starts)', async () => {
    for (const garbage of [1, 100, 70_000]) {
      await expectPayloadFailure(Buffer.concat([file, crypto.randomBytes(garbage)]), 'auth-failed', 5, upToChunk(5));
    }
  });

  it('an empty final chunk after full ones is refused', async () => {
    // Built with the low-level stream: seal 1 full chunk as non-final, then an empty final one.
    const key = crypto.randomBytes(16);
    const nonce = crypto.randomBytes(16);
    const payloadKey = Buffer.from(crypto.hkdfSync('sha256', key, nonce, 'payload', 32));
    const seal = (data: Buffer, counter: number, last: boolean) => {
      const n = Buffer.alloc(12);
      n[10] = counter;
      n[11] = last ? 1 : 0;
      const c = crypto.createCipheriv('chacha20-poly1305', payloadKey, n, { authTagLength: 16 });
      return Buffer.concat([c.update(data), c.final(), c.getAuthTag()]);
    };
    const first = crypto.randomBytes(CHUNK_SIZE);
    const payload = Buffer.concat([nonce, seal(first, 0, false), seal(Buffer.alloc(0), 1, true)]);
    const dec = createDecryptStream(key);
    const done = collect(dec);
    dec.end(payload);
    const { data, error } = await done;
    expect((error as AgePayloadError).reason).toBe('empty-final-chunk');
    expect(error!.message).toBe('The backup file is damaged: chunk 1 is an empty final chunk');
    expect(data.equals(first)).toBe(true);
  });
});

describe('sticky failure', () => {
  it('once failed, the decrypt stream stays failed and releases nothing more', async () => {
    const key = crypto.randomBytes(16);
    const dec = createDecryptStream(key);
    const done = collect(dec);
    dec.write(crypto.randomBytes(16 + ENCRYPTED_CHUNK_SIZE + 1)); // a garbage chunk with more after it
    const { error, data } = await done;
    expect((error as AgePayloadError).reason).toBe('auth-failed');
    expect(data.length).toBe(0);
    await new Promise<void>((resolve) => dec.write(Buffer.alloc(10), () => resolve()));
    expect(dec.destroyed).toBe(true);
  });

  it('a consumer that stops early closes the source', async () => {
    const { Readable } = await import('node:stream');
    const source = Readable.from([file.subarray(0, 1000), file.subarray(1000)], { objectMode: false });
    const plain = await decryptWithPassphrase(source, PASS);
    await new Promise<void>((resolve) => {
      plain.once('data', () => {
        plain.destroy();
        resolve();
      });
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(source.destroyed).toBe(true);
  });

  it('a consumer that gives up before reading closes the source', async () => {
    const { Readable } = await import('node:stream');
    const source = Readable.from([file.subarray(0, 1000), file.subarray(1000)], { objectMode: false });
    const plain = await decryptWithPassphrase(source, PASS);
    plain.destroy();
    await new Promise((r) => setTimeout(r, 20));
    expect(source.destroyed).toBe(true);
  });

  it('a source that fails in the header phase is closed too', async () => {
    const { Readable } = await import('node:stream');
    const source = Readable.from([Buffer.from('not an age file at all'), file], { objectMode: false });
    await expect(decryptWithPassphrase(source, PASS)).rejects.toBeInstanceOf(AgeHeaderError);
    expect(source.destroyed).toBe(true);
  });

  it('pipes into a slow writer with backpressure and bounded buffering', async () => {
    const big = crypto.randomBytes(8 * CHUNK_SIZE);
    const f = await encryptBuffer(big);
    const plain = await decryptWithPassphrase(chunked(f, 64 * 1024), PASS); // as a file stream reads
    let received = 0;
    let maxBuffered = 0;
    await new Promise<void>((resolve, reject) => {
      plain
        .pipe(
          new Writable({
            highWaterMark: 1,
            write(chunk: Buffer, _enc, cb) {
              received += chunk.length;
              maxBuffered = Math.max(maxBuffered, plain.readableLength);
              setTimeout(cb, 1);
            },
          }),
        )
        .on('finish', resolve)
        .on('error', reject);
    });
    expect(received).toBe(big.length);
    expect(maxBuffered).toBeLessThanOrEqual(2 * CHUNK_SIZE);
  });
});
