import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3ConfigSchema, S3Error, S3Store, type S3ConfigInput, type S3Failure } from '@/lib/s3';
import { makeS3Client } from '@/lib/s3/client';
import { putObject } from '@/lib/s3/upload';
import { startCephRgw, type CephRgw, type S3Keys } from '../helpers/ceph-rgw';
import { freePort } from '../helpers/console-server';

/**
 * lib/s3 against a real S3 gateway (Ceph RADOS Gateway on loopback, see
 * tests/helpers/ceph-rgw.ts): small and multipart uploads, paged listings,
 * downloads, deletes, failures in the middle of a multipart upload (the
 * source fails, the caller cancels, the gateway dies), the failures a user
 * can meet (wrong keys, missing bucket, no permission, nothing listening, a
 * gateway that never answers, something that is not S3), and s3cmd as the
 * independent peer that sees the same objects, byte for byte.
 */
const MiB = 1024 * 1024;
const BUCKET = 'webconf-backups';
const FOLDER = 'fleet/configs';
let gw: CephRgw;
let other: S3Keys;
const stores: S3Store[] = [];

beforeAll(async () => {
  gw = await startCephRgw();
  // Reported by the suite's run: the gateway's start time on this machine.
  console.info(`ceph-rgw answered after ${gw.startSeconds.toFixed(1)} s`);
  await gw.createBucket(BUCKET);
  other = await gw.createUser('someone-else');
  await gw.createBucket('someone-elses-bucket', other);
});
afterAll(async () => {
  for (const s of stores) s.close();
  await gw?.stop();
});

function config(over: Partial<S3ConfigInput> = {}): S3ConfigInput {
  return {
    endpoint: gw.endpoint,
    region: gw.region,
    bucket: BUCKET,
    folder: FOLDER,
    accessKeyId: gw.accessKeyId,
    secretAccessKey: gw.secretAccessKey,
    ...over,
  };
}

function store(over: Partial<S3ConfigInput> = {}, partSize = 5 * MiB): S3Store {
  const s = new S3Store(config(over), { partSize });
  stores.push(s);
  return s;
}

async function bytesOf(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

async function failure(p: Promise<unknown>, reason: S3Failure): Promise<S3Error> {
  const err = await p.then(
    () => {
      throw new Error(`expected a failure (${reason})`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(S3Error);
  const e = err as S3Error;
  expect({ reason: e.reason, message: e.message }).toMatchObject({ reason });
  // Never the secret, nor the access key, in what a user reads.
  expect(e.message).not.toContain(gw.secretAccessKey);
  expect(e.message).not.toContain(gw.accessKeyId);
  expect(e.message).not.toContain(other.secretAccessKey);
  return e;
}

/** What s3cmd sees under s3://BUCKET/<prefix>: full key → size. */
async function s3cmdList(prefix = ''): Promise<Map<string, number>> {
  const { stdout } = await gw.s3cmd(['ls', '--recursive', `s3://${BUCKET}/${prefix}`]);
  const m = new Map<string, number>();
  // "2026-12-02 01:03      12582912  s3://webconf-backups/fleet/configs/big.bin"
  for (const line of stdout.split('\n')) {
    const r = new RegExp(`^\\S+ \\S+\\s+(\\d+)\\s+s3://${BUCKET}/(.+)$`).exec(line);
    if (r) m.set(r[2]!, Number(r[1]));
  }
  return m;
}

async function s3cmdGet(fullKey: string): Promise<Buffer> {
  const file = `${gw.dir}/s3cmd/get-${crypto.randomBytes(4).toString('hex')}`;
  await gw.s3cmd(['get', '--force', `s3://${BUCKET}/${fullKey}`, file]);
  const fs = await import('node:fs');
  const b = fs.readFileSync(file);
  fs.rmSync(file);
  return b;
}

/** The bucket's multipart uploads in progress, as s3cmd lists them (ListMultipartUploads): upload ids. */
async function s3cmdUploads(): Promise<string[]> {
  const { stdout } = await gw.s3cmd(['multipart', `s3://${BUCKET}`]);
  // "Initiated\tPath\tId" then one line per upload: "<date>\ts3://bucket/key\t<upload id>"
  return stdout
    .split('\n')
    .map((l) => l.split('\t'))
    .filter((f) => f.length >= 3 && f[1]!.startsWith('s3://'))
    .map((f) => f[2]!.trim());
}

/** A source of `total` random bytes in chunks of odd sizes, as a stream would give them. */
function chunked(data: Buffer, chunk = 700_001): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
    })(),
  );
}

describe('S3Store against Ceph RADOS Gateway', () => {
  it('checks that the bucket answers and the key may write, read and delete, leaving nothing behind', async () => {
    await store().check();
    expect([...(await s3cmdList())].filter(([k]) => k.includes('.webconf-check-'))).toEqual([]);
  });

  it('stores a small object, reads it back byte for byte, and s3cmd sees the same', async () => {
    const s = store();
    const data = Buffer.from('hostname fw-01\ninterface eth0\n ip address 192.0.2.1/24\n');
    const r = await s.put('fw-01/2026-12-02T00-00-00Z.cfg.age', data, { contentType: 'application/octet-stream' });
    expect(r).toMatchObject({ key: 'fw-01/2026-12-02T00-00-00Z.cfg.age', size: data.length, parts: 1 });
    expect((await bytesOf((await s.get(r.key)).body)).equals(data)).toBe(true);
    expect(await s.head(r.key)).toMatchObject({ key: r.key, size: data.length });
    expect((await s3cmdList(FOLDER)).get(`${FOLDER}/${r.key}`)).toBe(data.length);
    expect((await s3cmdGet(`${FOLDER}/${r.key}`)).equals(data)).toBe(true);
  });

  it('stores an empty object', async () => {
    const s = store();
    await s.put('empty.bin', Buffer.alloc(0));
    expect(await s.head('empty.bin')).toMatchObject({ size: 0 });
    expect((await bytesOf((await s.get('empty.bin')).body)).length).toBe(0);
  });

  it('uploads 12 MiB from a stream in three parts of 5, 5 and 2 MiB; get and s3cmd give the same bytes', async () => {
    const s = store();
    const data = crypto.randomBytes(12 * MiB);
    const progress: number[] = [];
    const r = await s.put('big/stream.bin', chunked(data), { onProgress: (b) => progress.push(b) });
    expect(r).toMatchObject({ size: data.length, parts: 3 });
    // The gateway's ETag of a multipart object is "<md5 of the parts' md5s>-<number of parts>".
    expect(r.etag).toMatch(/-3"?$/);
    expect(progress.sort((a, b) => a - b).at(-1)).toBe(data.length);
    const got = await s.get('big/stream.bin');
    expect(got.size).toBe(data.length);
    expect(sha(await bytesOf(got.body))).toBe(sha(data));
    expect(sha(await s3cmdGet(`${FOLDER}/big/stream.bin`))).toBe(sha(data));
    expect(await s3cmdUploads()).toEqual([]);
  });

  it('uploads a buffer of exactly two parts, and one a byte over a part as two parts', async () => {
    const s = store();
    const exact = crypto.randomBytes(10 * MiB);
    expect(await s.put('big/exact.bin', exact)).toMatchObject({ parts: 2, size: exact.length });
    const over = crypto.randomBytes(5 * MiB + 1);
    expect(await s.put('big/over.bin', over)).toMatchObject({ parts: 2, size: over.length });
    const fits = crypto.randomBytes(5 * MiB);
    expect(await s.put('big/fits.bin', fits)).toMatchObject({ parts: 1 });
    for (const [k, d] of [
      ['big/exact.bin', exact],
      ['big/over.bin', over],
      ['big/fits.bin', fits],
    ] as const) {
      expect(sha(await s3cmdGet(`${FOLDER}/${k}`))).toBe(sha(d));
    }
  });

  it('lists page by page through continuation tokens, under a prefix, inside the folder only', async () => {
    const s = store();
    const keys = Array.from({ length: 23 }, (_, i) => `paging/obj-${String(i).padStart(2, '0')}`);
    for (const k of keys) await s.put(k, `content of ${k}`);
    // Outside the folder (and beside it with a name that starts the same): never listed.
    const tmp = `${gw.dir}/s3cmd/outside`;
    (await import('node:fs')).writeFileSync(tmp, 'outside');
    await gw.s3cmd(['put', tmp, `s3://${BUCKET}/fleet/configs-other/x.txt`]);
    await gw.s3cmd(['put', tmp, `s3://${BUCKET}/outside.txt`]);

    const pages: string[][] = [];
    for await (const page of s.listPages('paging/', { pageSize: 5 })) pages.push(page.map((o) => o.key));
    expect(pages.map((p) => p.length)).toEqual([5, 5, 5, 5, 3]);
    expect(pages.flat()).toEqual(keys);
    const all = await s.list('paging/', { pageSize: 7 });
    expect(all.map((o) => o.key)).toEqual(keys);
    expect(all[0]).toMatchObject({ size: Buffer.byteLength('content of paging/obj-00') });
    expect(all[0]!.lastModified.getTime()).toBeGreaterThan(Date.now() - 10 * 60_000);

    const whole = (await s.list('', { pageSize: 4 })).map((o) => o.key);
    expect(whole).toEqual(expect.arrayContaining(keys));
    expect(whole.some((k) => k.includes('outside') || k.includes('x.txt'))).toBe(false);
    // s3cmd sees the same 23 under the prefix.
    const seen = [...(await s3cmdList(`${FOLDER}/paging/`)).keys()];
    expect(seen).toEqual(keys.map((k) => `${FOLDER}/${k}`));
  });

  it('deletes an object; deleting it again succeeds; reading it then fails in words', async () => {
    const s = store();
    await s.put('gone.txt', 'soon gone');
    await s.delete('gone.txt');
    expect(await s.head('gone.txt')).toBeNull();
    expect((await s3cmdList(FOLDER)).has(`${FOLDER}/gone.txt`)).toBe(false);
    await s.delete('gone.txt');
    const e = await failure(s.get('gone.txt'), 'not_found');
    expect(e.message).toContain(`"${FOLDER}/gone.txt"`);
    expect(e.message).toMatch(/no such object/);
  });

  it('reads what s3cmd stored, byte for byte', async () => {
    const data = crypto.randomBytes(7 * MiB + 123);
    const file = `${gw.dir}/s3cmd/peer.bin`;
    (await import('node:fs')).writeFileSync(file, data);
    await gw.s3cmd(['put', '--multipart-chunk-size-mb=5', file, `s3://${BUCKET}/${FOLDER}/peer/from-s3cmd.bin`]);
    const got = await store().get('peer/from-s3cmd.bin');
    expect(sha(await bytesOf(got.body))).toBe(sha(data));
  });

  it('refuses object names that would leave the folder, and sends nothing', async () => {
    const s = store();
    for (const k of ['../escape.txt', 'a/../../escape.txt', '/abs.txt', 'a//b', 'a\\b', './x', 'dir/', '', 'bad\nname']) {
      const e = await failure(s.put(k, 'x'), 'invalid_key');
      expect(e.message).toMatch(/not allowed/);
    }
    await failure(s.list('../'), 'invalid_key');
    await failure(s.get('../configs-other/x.txt'), 'invalid_key');
    await failure(s.delete('..'), 'invalid_key');
    expect([...(await s3cmdList())].filter(([k]) => k.includes('escape') || k.includes('abs.txt'))).toEqual([]);
  });
});

describe('a multipart upload that fails in the middle leaves no parts', () => {
  it('when the source stream fails after the first part was stored', async () => {
    const s = store();
    let stored = 0;
    let during: string[] = [];
    const partStored = new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        if (stored >= 5 * MiB) {
          clearInterval(tick);
          resolve();
        }
      }, 20);
    });
    async function* failingSource() {
      yield crypto.randomBytes(5 * MiB);
      yield crypto.randomBytes(5 * MiB);
      await partStored;
      // The upload is really under way on the gateway, with a part in it.
      during = await s3cmdUploads();
      throw new Error('read error on /var/lib/export.tmp');
    }
    const e = await failure(s.put('mp/failing-source.bin', failingSource(), { onProgress: (b) => (stored = b) }), 'source_failed');
    expect(e.message).toMatch(/reading the data to upload failed \(read error on \/var\/lib\/export\.tmp\); nothing was stored/);
    expect((e.cause as Error).message).toBe('read error on /var/lib/export.tmp');
    expect(e.incompleteUpload).toBeUndefined();
    expect(during).toHaveLength(1);
    expect(await s3cmdUploads()).toEqual([]);
    expect(await s.incompleteUploads()).toEqual([]);
    expect(await s.head('mp/failing-source.bin')).toBeNull();
  });

  it('when a stream source is destroyed with an error mid-upload', async () => {
    const s = store();
    const src = new Readable({ read() {} });
    src.push(crypto.randomBytes(6 * MiB));
    src.push(crypto.randomBytes(6 * MiB));
    const p = s.put('mp/destroyed.bin', src, {
      onProgress: () => src.destroy(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' })),
    });
    await failure(p, 'source_failed');
    expect(await s3cmdUploads()).toEqual([]);
  });

  it('when the caller cancels it', async () => {
    const s = store();
    const ac = new AbortController();
    const e = await failure(
      s.put('mp/cancelled.bin', chunked(crypto.randomBytes(16 * MiB)), { signal: ac.signal, onProgress: () => ac.abort() }),
      'aborted',
    );
    expect(e.message).toMatch(/cancelled/);
    expect(await s3cmdUploads()).toEqual([]);
    expect(await s.head('mp/cancelled.bin')).toBeNull();
  });

  it.each([
    ['CompleteMultipartUploadCommand', 11 * MiB],
    ['PutObjectCommand', 1 * MiB],
  ])('when the caller cancels once the gateway answered %s: either the object is there and put succeeded, or put failed and there is none', async (command, size) => {
    const client = makeS3Client(s3ConfigSchema.parse(config()));
    const ac = new AbortController();
    // The cancel lands after the gateway answered (it stored the object) and before its answer is read.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        if (context.commandName === command) {
          ac.abort();
          await new Promise((r) => setImmediate(r));
        }
        return out;
      },
      { step: 'deserialize', priority: 'low', name: 'cancelAfterCompleteAnswered' },
    );
    const key = `mp/cancelled-at-${command}.bin`;
    const full = `${FOLDER}/${key}`;
    const ctx = { endpoint: gw.endpoint, bucket: BUCKET, operation: 'writing', key, fullKey: full, connectTimeoutMs: 5000, idleTimeoutMs: 30000, secrets: [gw.secretAccessKey] };
    try {
      const outcome = await putObject({ client, bucket: BUCKET, fullKey: full, partSize: 5 * MiB, concurrency: 2, ctx }, crypto.randomBytes(size), { signal: ac.signal }).then(
        () => 'stored',
        (e: unknown) => (e as S3Error).reason,
      );
      expect(ac.signal.aborted).toBe(true);
      const there = await store().head(key);
      // A put that says it failed must leave no object under the final name (its caller records nothing for it).
      expect({ outcome, there: there !== null }).toEqual(there ? { outcome: 'stored', there: true } : { outcome: 'aborted', there: false });
      expect(await s3cmdUploads()).toEqual([]);
    } finally {
      await store().delete(key);
      client.destroy();
    }
  });

  it('when the gateway dies: put fails in words and names the upload; it is aborted once the gateway is back', async () => {
    const s = store();
    const started = new Date(Date.now() - 1000);
    let stored = 0;
    async function* source() {
      yield crypto.randomBytes(5 * MiB);
      yield crypto.randomBytes(5 * MiB);
      while (stored < 5 * MiB) await new Promise((r) => setTimeout(r, 20));
      await gw.stopGateway();
      yield crypto.randomBytes(5 * MiB);
      yield crypto.randomBytes(1 * MiB);
    }
    let e: S3Error;
    try {
      e = await failure(s.put('mp/gateway-died.bin', source(), { onProgress: (b) => (stored = b) }), 'unreachable');
    } finally {
      await gw.startGateway();
    }
    expect(e.message).toMatch(/nothing answers at http:\/\/127\.0\.0\.1:\d+ \(connection refused\)/);
    expect(e.message).toMatch(/could not be removed/);
    expect(e.incompleteUpload).toMatchObject({ key: 'mp/gateway-died.bin' });
    expect(await s3cmdUploads()).toEqual([e.incompleteUpload!.uploadId]);
    // A sweep that spares uploads started after a given time leaves it; one without removes it.
    expect(await s.abortIncompleteUploads({ olderThan: started })).toBe(0);
    expect(await s.abortIncompleteUploads()).toBe(1);
    expect(await s3cmdUploads()).toEqual([]);
    expect(await s.head('mp/gateway-died.bin')).toBeNull();
  });
});

describe('a download that breaks', () => {
  it('fails the stream with an S3Error when the gateway dies in the middle', async () => {
    const s = store();
    // Larger than what loopback socket buffers hold, so the gateway is still sending when it dies.
    await s.put('big/download.bin', crypto.randomBytes(32 * MiB));
    const got = await s.get('big/download.bin');
    let read = 0;
    let err: unknown = null;
    try {
      for await (const c of got.body) {
        if (read === 0) await gw.stopGateway();
        read += (c as Buffer).length;
      }
    } catch (e) {
      err = e;
    } finally {
      await gw.startGateway();
    }
    expect(read).toBeLessThan(32 * MiB);
    expect(err).toBeInstanceOf(S3Error);
    expect((err as S3Error).reason).toBe('connection_lost');
    expect((err as S3Error).message).toMatch(/reading "fleet\/configs\/big\/download\.bin" failed: (the connection to the S3 gateway broke|the download ended after \d+ of 33554432 bytes)/);
  });
});

describe('failures in words', () => {
  it('wrong secret and unknown access key: the S3 gateway refused the access key or secret', async () => {
    const wrongSecret = store({ secretAccessKey: 'wrong-secret-0123456789abcdefghijklmnop' });
    const unknownKey = store({ accessKeyId: 'NOSUCHACCESSKEY00000' });
    for (const s of [wrongSecret, unknownKey]) {
      for (const op of [() => s.check(), () => s.list(), () => s.put('x.txt', 'x'), () => s.get('x.txt')]) {
        const e = await failure(op(), 'credentials_rejected');
        expect(e.message).toContain('the S3 gateway refused the access key or secret');
        expect(e.message).toContain(`S3 bucket "${BUCKET}" at ${gw.endpoint}`);
        expect(e.message).not.toContain('wrong-secret');
        expect(e.message).not.toContain('NOSUCHACCESSKEY');
        expect(e.code).toBe('unprocessable');
      }
    }
    expect(['InvalidAccessKeyId', 'SignatureDoesNotMatch']).toContain((await failure(wrongSecret.check(), 'credentials_rejected')).s3Code);
  });

  it('a bucket that does not exist', async () => {
    const s = store({ bucket: 'no-such-bucket' });
    for (const op of [() => s.check(), () => s.list(), () => s.put('a.txt', 'a'), () => s.put('big.bin', crypto.randomBytes(11 * MiB))]) {
      const e = await failure(op(), 'bucket_not_found');
      expect(e.message).toContain('the bucket "no-such-bucket" does not exist on this gateway');
    }
  });

  it("another user's bucket: access denied", async () => {
    const s = store({ bucket: 'someone-elses-bucket' });
    for (const op of [() => s.check(), () => s.list(), () => s.put('a.txt', 'a')]) {
      const e = await failure(op(), 'access_denied');
      expect(e.message).toMatch(/denied access: this access key may not do that in the bucket "someone-elses-bucket"/);
    }
  });

  it('nothing listening at the endpoint', async () => {
    const port = await freePort();
    const s = store({ endpoint: `http://127.0.0.1:${port}` });
    const e = await failure(s.check(), 'unreachable');
    expect(e.message).toContain(`nothing answers at http://127.0.0.1:${port} (connection refused)`);
  });

  it('a gateway that accepts connections and never answers: timed out', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((sock) => sockets.push(sock));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const s = store({ endpoint: `http://127.0.0.1:${port}`, idleTimeoutMs: 400 });
      const e = await failure(s.list(), 'timed_out');
      expect(e.message).toContain('the S3 gateway did not answer for 0.4 s');
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('an endpoint that is a web server, not an S3 gateway', async () => {
    const web = http.createServer((req, res) => {
      req.resume();
      res.writeHead(404, { 'content-type': 'text/html' }).end('<html><body>Not here</body></html>');
    });
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    try {
      const port = (web.address() as net.AddressInfo).port;
      const e = await failure(store({ endpoint: `http://127.0.0.1:${port}` }).check(), 'not_s3');
      expect(e.message).toContain('answered HTTP 404 without an S3 error');
    } finally {
      await new Promise((r) => web.close(r));
    }
  });

  it('settings that do not pass the schema fail before anything connects', () => {
    expect(() => new S3Store(config({ endpoint: 'http://user:pw@127.0.0.1:1' }))).toThrow(/endpoint: The S3 endpoint cannot contain a user name or password/);
    expect(() => new S3Store(config({ bucket: 'ab' }))).toThrow(/bucket: A bucket name has 3 to 63 characters/);
    expect(() => new S3Store(config({ folder: 'a/../b' }))).toThrow(/folder: The folder cannot contain "\." or "\.\."/);
    expect(() => new S3Store(config(), { partSize: 1024 })).toThrow(/part size/);
  });
});
