import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgeHeaderError } from '@/lib/age';
import { applianceRoot } from '@/lib/backup/appliance';
import { setDms } from '@/lib/backup/dms';
import { startBackup, waitForBackup } from '@/lib/backup/engine';
import { getBackupRun } from '@/lib/backup/runs';
import type { ManifestMember } from '@/lib/backup/manifest';
import { verifyBackupFile } from '@/lib/backup/verify-file';
import { saveStorageConfig } from '@/lib/storage/config';
import { LocalFolderTarget } from '@/lib/storage/local-folder';
import type { StorageTarget } from '@/lib/storage/types';

/**
 * Full verification of a real backup (engine-written, ~100 MiB, so that it
 * spans many windows of the local path's ring): the local path (both
 * cores, shared memory) and the stream path (as for NFS) must answer the
 * same, deliver every member's exact bytes to sinks in order, and hold the
 * read back while a sink is slow; damage is refused by both
 * (tamper.test.ts).
 */
const DMS = 'verify test domain master secret';
const actor = { id: 1, name: 'admin', ip: null };
const MiB = 1 << 20;
let dir: string;
let fileName: string;
let bytes: Buffer;
const config: Record<string, Buffer> = {};

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-verify-'));
  config['system/large.bin'] = crypto.randomBytes(96 * MiB);
  config['system/empty.conf'] = Buffer.alloc(0);
  config['firmware/version.json'] = Buffer.from('{"firmware":"1.2.3"}');
  config[`system/${'deep/'.repeat(30)}long-name.conf`] = Buffer.from('long path');
  for (const [k, v] of Object.entries(config)) {
    fs.mkdirSync(path.dirname(path.join(applianceRoot(), k)), { recursive: true });
    fs.writeFileSync(path.join(applianceRoot(), k), v);
  }
  await setDms(actor, DMS);
  await saveStorageConfig(actor, { type: 'local', path: dir });
  const run = await startBackup('manual', actor);
  await waitForBackup(run.id);
  const done = getBackupRun(run.id)!;
  expect(done.status).toBe('succeeded');
  fileName = done.fileName!;
  bytes = fs.readFileSync(path.join(dir, fileName));
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The target without localPath: verifyBackupFile takes the stream path, as for an NFS share. */
function streamOnly(t: StorageTarget): StorageTarget {
  const wrapped: StorageTarget = Object.create(t);
  Object.defineProperty(wrapped, 'localPath', { value: undefined });
  return wrapped;
}

const paths: [string, () => StorageTarget][] = [
  ['local (shared memory, both cores)', () => new LocalFolderTarget(dir)],
  ['stream (as NFS)', () => streamOnly(new LocalFolderTarget(dir))],
];

/**
 * A sink that collects each member, optionally slowly (`delayMs` per 64 KiB taken), reporting what it took.
 * The bytes a sink is given are lent until its write callback (MemberSink): this one copies them only
 * then, just before the callback, so that bytes reused too early would show as a wrong member.
 */
function collecting(delayMs = 0, accepted?: (n: number) => void) {
  const got = new Map<string, Buffer>();
  const order: string[] = [];
  const sink = async (m: ManifestMember) => {
    order.push(m.path);
    const parts: Buffer[] = [];
    return new Writable({
      highWaterMark: 256 * 1024,
      write(chunk: Buffer, _e, cb) {
        accepted?.(chunk.length);
        const take = () => {
          parts.push(Buffer.from(chunk));
          cb();
        };
        if (delayMs) setTimeout(take, delayMs * Math.ceil(chunk.length / 65536));
        else setImmediate(take);
      },
      final(cb) {
        got.set(m.path, Buffer.concat(parts));
        cb();
      },
    });
  };
  return { sink, got, order };
}

describe.each(paths)('verifyBackupFile, %s path', (_name, target) => {
  it("answers the manifest, the members, their bytes and the stored file's SHA-256, and gives each sink its member's exact bytes in order", async () => {
    const { sink, got, order } = collecting();
    const progress: [number, number][] = [];
    const v = await verifyBackupFile(target(), fileName, DMS, { sink, onProgress: (read, total) => progress.push([read, total]) });
    expect(v.signatureVerified).toBe(true);
    expect(v.checksum).toBe(crypto.createHash('sha256').update(bytes).digest('hex'));
    expect(v.membersVerified).toBe(v.manifest.members.length);
    expect(order).toEqual(v.manifest.members.map((m) => m.path));
    for (const [k, data] of Object.entries(config)) expect(got.get(k)?.equals(data), k).toBe(true);
    expect(v.bytes).toBe(v.manifest.members.reduce((n, m) => n + m.size, 0));
    // Progress: in order, ending at the file's size.
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.every(([, total]) => total === bytes.length)).toBe(true);
    expect(progress.every(([read], i) => i === 0 || read >= progress[i - 1]![0])).toBe(true);
    expect(progress.at(-1)![0]).toBe(bytes.length);
  });

  it('passes a sink that returns null, and answers the same without sinks', async () => {
    const v = await verifyBackupFile(target(), fileName, DMS, { sink: async () => null });
    const w = await verifyBackupFile(target(), fileName, DMS);
    expect(w).toEqual(v);
  });

  it('holds the read back while a sink is slow: the bytes this process read stay within a bounded distance of what the sink took', async () => {
    // rchar: every byte this process's read calls returned (direct I/O included); the verify's reads are nearly all of them.
    const rchar = () => Number(/rchar: (\d+)/.exec(fs.readFileSync('/proc/self/io', 'utf8'))![1]);
    const before = rchar();
    let taken = 0;
    let ahead = 0;
    // About 1.5 s for the large member: far slower than the read.
    const { sink, got } = collecting(1, (n) => {
      taken += n;
      ahead = Math.max(ahead, rchar() - before - taken);
    });
    await verifyBackupFile(target(), fileName, DMS, { sink });
    expect(got.get('system/large.bin')!.equals(config['system/large.bin']!)).toBe(true);
    expect(rchar() - before).toBeGreaterThan(bytes.length);
    // The local path's ring holds 6 windows of 4 MiB, a stream far less; without backpressure the whole ~100 MiB file is read ahead.
    expect(ahead).toBeLessThan(40 * MiB);
  });

  it("stops at a sink's failure with that error, and opens no later sink", async () => {
    const opened: string[] = [];
    const err = await verifyBackupFile(target(), fileName, DMS, {
      sink: async (m) => {
        opened.push(m.path);
        return new Writable({ write: (_c, _e, cb) => cb(new Error(`disk full while writing ${m.path}`)) });
      },
    }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/^disk full while writing /);
    expect(opened).toHaveLength(1);
  });

  it('stops when aborted, with the reason', async () => {
    const controller = new AbortController();
    const { sink } = collecting(5);
    setTimeout(() => controller.abort(new Error('The console is shutting down.')), 300);
    await expect(verifyBackupFile(target(), fileName, DMS, { sink, signal: controller.signal })).rejects.toThrow('The console is shutting down.');
  });

  it('refuses a file that is no backup, an empty file and a missing one, in words', async () => {
    fs.writeFileSync(path.join(dir, 'not-age.tar.age'), 'hello');
    fs.writeFileSync(path.join(dir, 'empty.tar.age'), '');
    await expect(verifyBackupFile(target(), 'not-age.tar.age', DMS)).rejects.toThrow(AgeHeaderError);
    await expect(verifyBackupFile(target(), 'empty.tar.age', DMS)).rejects.toThrow(AgeHeaderError);
    await expect(verifyBackupFile(target(), 'missing.tar.age', DMS)).rejects.toThrow(/read missing\.tar\.age failed: it does not exist/);
  });
});
