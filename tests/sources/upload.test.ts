import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isSourceError } from '@/lib/sources/errors';
import { receiveUpload } from '@/lib/sources/upload';

const MAGIC = Buffer.from('age-encryption.org/v1\n');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-upload-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/**
 * A body that yields these chunks and counts how many were pulled from it
 * (a generator: a Readable would read one chunk ahead by itself), and
 * whether it was closed (return(): the reader stopped reading).
 */
function countingBody(chunks: Buffer[]): { body: AsyncGenerator<Buffer>; pulled: () => number; closed: () => boolean } {
  let i = 0;
  let closed = false;
  async function* gen() {
    try {
      while (i < chunks.length) yield chunks[i++]!;
    } finally {
      closed = true;
    }
  }
  return { body: gen(), pulled: () => i, closed: () => closed };
}

/** An age-looking file of `size` bytes (the magic line, then random bytes), as chunks of `chunk` bytes. */
function ageFile(size: number, chunk = 64 * 1024): { bytes: Buffer; chunks: Buffer[] } {
  const bytes = Buffer.concat([MAGIC, crypto.randomBytes(size - MAGIC.length)]);
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += chunk) chunks.push(bytes.subarray(at, at + chunk));
  return { bytes, chunks };
}

async function refusal(p: Promise<unknown>): Promise<{ reason: string; message: string }> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isSourceError(err), String(err)).toBe(true);
  return err as { reason: string; message: string };
}

const entries = () => fs.readdirSync(dir);

describe('receiveUpload', () => {
  it('streams an age file to a new 0600 temp file in dir, byte for byte, with progress', async () => {
    const { bytes, chunks } = ageFile(3 * 1024 * 1024 + 17);
    const progress: [number, number | undefined][] = [];
    const got = await receiveUpload(Readable.from(chunks), { dir, maxBytes: bytes.length, total: bytes.length, onProgress: (n, t) => progress.push([n, t]) });
    expect(path.dirname(got.path)).toBe(dir);
    expect(entries()).toEqual([path.basename(got.path)]);
    expect(got.size).toBe(bytes.length);
    expect(got.sha256).toBe(crypto.createHash('sha256').update(bytes).digest('hex'));
    expect(fs.readFileSync(got.path).equals(bytes)).toBe(true);
    expect(fs.statSync(got.path).mode & 0o777).toBe(0o600);
    expect(progress.at(-1)).toEqual([bytes.length, bytes.length]);
    expect(progress.map(([n]) => n)).toEqual([...progress.map(([n]) => n)].sort((a, b) => a - b));
  });

  it('takes a web ReadableStream (a route handler’s request.body), with the magic line split across chunks', async () => {
    const { bytes } = ageFile(1000);
    const parts = [bytes.subarray(0, 1), bytes.subarray(1, 5), bytes.subarray(5, 30), bytes.subarray(30)];
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const p of parts) c.enqueue(new Uint8Array(p));
        c.close();
      },
    });
    const got = await receiveUpload(body, { dir, maxBytes: 10_000 });
    expect(fs.readFileSync(got.path).equals(bytes)).toBe(true);
  });

  it('takes a file of exactly maxBytes', async () => {
    const { bytes, chunks } = ageFile(5000, 1000);
    const got = await receiveUpload(Readable.from(chunks), { dir, maxBytes: 5000 });
    expect(got.size).toBe(bytes.length);
  });

  it('refuses a file that is not an age file at its first chunk: nothing more is read, nothing is kept', async () => {
    const { body, pulled, closed } = countingBody([Buffer.from('PK\u0003\u0004 a zip file'), crypto.randomBytes(1000), crypto.randomBytes(1000)]);
    const err = await refusal(receiveUpload(body, { dir, maxBytes: 1e9 }));
    expect(err.reason).toBe('not_age');
    expect(err.message).toMatch(/not an age-encrypted file/);
    expect(pulled()).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(closed()).toBe(true);
    expect(entries()).toEqual([]);
  });

  it('refuses at the first byte that differs, before the magic line is complete', async () => {
    const { body, pulled } = countingBody([Buffer.from('age-'), Buffer.from('x'), Buffer.from('ncryption.org/v1\n'), crypto.randomBytes(100)]);
    expect((await refusal(receiveUpload(body, { dir, maxBytes: 1e9 }))).reason).toBe('not_age');
    expect(pulled()).toBe(2);
    expect(entries()).toEqual([]);
  });

  it.each([
    ['another age version', 'age-encryption.org/v2\n...'],
    ['the magic without its newline', 'age-encryption.org/v1 '],
    ['a file shorter than the magic line', 'age-encryption'],
    ['an armored (PEM) age file', '-----BEGIN AGE ENCRYPTED FILE-----\n'],
  ])('refuses %s', async (_what, text) => {
    expect((await refusal(receiveUpload(Readable.from([Buffer.from(text)]), { dir, maxBytes: 1e9 }))).reason).toBe('not_age');
    expect(entries()).toEqual([]);
  });

  it('refuses an empty upload in words', async () => {
    const err = await refusal(receiveUpload(Readable.from([]), { dir, maxBytes: 1e9 }));
    expect(err.message).toMatch(/upload was empty/);
    expect(entries()).toEqual([]);
  });

  it('refuses a body longer than maxBytes, and removes what it had written', async () => {
    const { chunks } = ageFile(300 * 1024, 16 * 1024);
    let sawFile = false;
    const err = await refusal(
      receiveUpload(Readable.from(chunks), {
        dir,
        maxBytes: 200 * 1024,
        onProgress: () => {
          sawFile ||= entries().length === 1;
        },
      }),
    );
    expect(err.reason).toBe('too_large');
    expect(err.message).toMatch(/larger than the limit of 204\.8 KB/);
    expect(sawFile).toBe(true);
    expect(entries()).toEqual([]);
  });

  it('refuses a body that ends before its announced length, and removes what it had written', async () => {
    const { bytes, chunks } = ageFile(300 * 1024, 16 * 1024);
    const err = await refusal(receiveUpload(Readable.from(chunks.slice(0, 10)), { dir, maxBytes: 1e9, total: bytes.length }));
    expect(err.reason).toBe('connection_lost');
    expect(err.message).toBe('The upload ended after 163.8 KB of 307.2 KB: the file did not arrive whole. Nothing was kept; upload it again.');
    expect(entries()).toEqual([]);
  });

  it('refuses an announced length over maxBytes before reading the body', async () => {
    const { body, pulled } = countingBody(ageFile(1000).chunks);
    const err = await refusal(receiveUpload(body, { dir, maxBytes: 999, total: 1000 }));
    expect(err.reason).toBe('too_large');
    expect(pulled()).toBe(0);
    expect(entries()).toEqual([]);
  });

  it('stops on abort while the client is stalled, and removes the temp file', async () => {
    const { bytes } = ageFile(4096);
    const body = new Readable({ read() {} });
    body.push(bytes);
    const ac = new AbortController();
    const p = receiveUpload(body, {
      dir,
      maxBytes: 1e9,
      signal: ac.signal,
      onProgress: () => setTimeout(() => ac.abort(), 20),
    });
    const err = await refusal(p);
    expect(err.reason).toBe('aborted');
    expect(entries()).toEqual([]);
  });

  it('refuses at once when the signal has already fired', async () => {
    const ac = new AbortController();
    ac.abort();
    expect((await refusal(receiveUpload(Readable.from(ageFile(100).chunks), { dir, maxBytes: 1e9, signal: ac.signal }))).reason).toBe('aborted');
    expect(entries()).toEqual([]);
  });

  it('removes the temp file when the body fails (the client went away)', async () => {
    const { bytes } = ageFile(2048);
    const body = new Readable({ read() {} });
    body.push(bytes);
    setTimeout(() => body.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })), 30);
    const err = await receiveUpload(body, { dir, maxBytes: 1e9 }).catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    expect(entries()).toEqual([]);
  });

  it('fails (a fault, not a refusal) when the folder is missing', async () => {
    const missing = path.join(dir, 'nope');
    const err = await receiveUpload(Readable.from(ageFile(100).chunks), { dir: missing, maxBytes: 1e9 }).catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});
