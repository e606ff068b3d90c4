import crypto from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { expect } from 'vitest';
import { decryptWithPassphrase, encryptWithPassphrase, type AgeSource, type Passphrase } from '@/lib/age';

/** Tests use a low scrypt work factor; production writes 2^18. */
export const TEST_LOG_N = 10;
export const PASS = 'correct horse battery staple';

export interface Collected {
  data: Buffer;
  error: Error | null;
  /** 'data' events that came after the error (must stay 0). */
  dataAfterError: number;
}

/**
 * Everything a stream released, and how it ended. Reads with 'data' events
 * (flowing mode), so each chunk counts the moment it is released; after an
 * error, waits a moment to catch any late release.
 */
export function collect(stream: Readable | Transform): Promise<Collected> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let error: Error | null = null;
    let dataAfterError = 0;
    stream.on('data', (b: Buffer) => {
      if (error) dataAfterError++;
      else parts.push(b);
    });
    stream.on('error', (err) => {
      error = err;
      setTimeout(() => resolve({ data: Buffer.concat(parts), error, dataAfterError }), 20);
    });
    stream.on('end', () => resolve({ data: Buffer.concat(parts), error: null, dataAfterError }));
  });
}

/** Pushes `input` through a Transform in pieces of `piece` bytes. */
export async function through(t: Transform, input: Buffer, piece = 100_000): Promise<Collected> {
  const done = collect(t);
  const src = Readable.from(
    (function* () {
      for (let i = 0; i < input.length; i += piece) yield input.subarray(i, i + piece);
    })(),
    { objectMode: false },
  );
  src.pipe(t);
  return done;
}

export async function encryptBuffer(plaintext: Buffer, passphrase: Passphrase = PASS, logN = TEST_LOG_N, piece?: number): Promise<Buffer> {
  const { data, error } = await through(await encryptWithPassphrase(passphrase, { logN }), plaintext, piece);
  if (error) throw error;
  return data;
}

/** Opens and reads to the end; header-phase errors reject, payload errors come back in `error`. */
export async function decryptBuffer(file: AgeSource, passphrase: Passphrase = PASS, piece?: number): Promise<Collected> {
  const source = Buffer.isBuffer(file) && piece ? chunked(file, piece) : file;
  return collect(await decryptWithPassphrase(source, passphrase));
}

export function chunked(buf: Buffer, piece: number): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < buf.length; i += piece) yield buf.subarray(i, i + piece);
    })(),
    { objectMode: false },
  );
}

export function sha256(b: Uint8Array): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}

/** The error `fn` throws, checked to be a `type`; fails the test when it throws nothing. */
export function thrown<T extends Error>(type: abstract new (...args: never[]) => T, fn: () => unknown): T {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(type);
    return err as T;
  }
  throw new Error(`expected a ${type.name}`);
}
