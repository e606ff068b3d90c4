import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encryptWithPassphrase } from '@/lib/age';
import { applianceRoot } from '@/lib/backup/appliance';
import { tarHeader } from '@/lib/backup/archive';
import { BackupDetailsError, MAX_DETAILS_READ, clearBackupDetailsCache, readBackupDetails, type BackupDetails } from '@/lib/backup/details';
import { setDms } from '@/lib/backup/dms';
import { startBackup, waitForBackup } from '@/lib/backup/engine';
import { isBackupFileName } from '@/lib/backup/file-name';
import { getBackupRun } from '@/lib/backup/runs';
import { verifyBackupFile } from '@/lib/backup/verify-file';
import { saveStorageConfig } from '@/lib/storage/config';
import { LocalFolderTarget } from '@/lib/storage/local-folder';
import type { ReadRange, StorageTarget } from '@/lib/storage/types';

/**
 * Backup Details from the header and the signed manifest only: a real
 * engine-made backup of ~6 MiB, its details against its manifest (as the
 * full verification reads it), another DMS, files that are no backup,
 * damage inside and outside what is read, and a count of the bytes read.
 */
const DMS = 'details test domain master secret';
const actor = { id: 1, name: 'admin', ip: null };
const CHUNK = 65536 + 16;
const MiB = 1 << 20;
let dir: string;
let target: LocalFolderTarget;
let original: Buffer;
let payloadStart: number;
let verified: Awaited<ReturnType<typeof verifyBackupFile>>;

function put(name: string, bytes: Buffer | string): string {
  fs.writeFileSync(path.join(dir, name), bytes);
  return name;
}

function flip(at: number): Buffer {
  const b = Buffer.from(original);
  b[at]! ^= 0x01;
  return b;
}

/** The target with its reads counted: every byte its streams hand out. */
function counting(t: StorageTarget): { target: StorageTarget; bytes: () => number; reads: ReadRange[] } {
  let bytes = 0;
  const reads: ReadRange[] = [];
  const wrapped: StorageTarget = Object.create(t);
  wrapped.read = async (name: string, range?: ReadRange) => {
    reads.push({ ...range });
    const source = await t.read(name, range);
    const tap = new Transform({
      transform(chunk: Buffer, _e, cb) {
        bytes += chunk.length;
        cb(null, chunk);
      },
    });
    pipeline(source, tap).catch(() => undefined);
    return tap;
  };
  return { target: wrapped, bytes: () => bytes, reads };
}

async function failure(p: Promise<unknown>): Promise<BackupDetailsError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, 'must fail').toBeInstanceOf(BackupDetailsError);
  const e = err as BackupDetailsError;
  expect(e.message).not.toMatch(/\n\s+at |Error:|undefined/);
  expect(e.message).not.toContain(DMS);
  return e;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-details-'));
  target = new LocalFolderTarget(dir);
  const root = applianceRoot();
  const write = (rel: string, data: Buffer | string) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), data);
  };
  write('firmware/version.json', '{"firmware":"1.2.3"}');
  write('firmware/settings.conf', 'a = 1\n');
  // About 6 MiB in all: many chunks after the manifest.
  write('system/big.bin', crypto.randomBytes(6 * MiB));
  write('system/network/interfaces.conf', 'eth0 dhcp\n');
  fs.symlinkSync('/etc/hostname', path.join(root, 'system', 'link'));
  await setDms(actor, DMS);
  await saveStorageConfig(actor, { type: 'local', path: dir });
  const run = await startBackup('manual', actor);
  await waitForBackup(run.id);
  const done = getBackupRun(run.id)!;
  expect(done.status).toBe('succeeded');
  fs.renameSync(path.join(dir, done.fileName!), path.join(dir, 'good.tar.age'));
  original = fs.readFileSync(path.join(dir, 'good.tar.age'));
  payloadStart = original.indexOf('\n', original.indexOf('\n---') + 1) + 1 + 16;
  verified = await verifyBackupFile(target, 'good.tar.age', DMS);
}, 60_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
beforeEach(() => clearBackupDetailsCache());

describe('backup details', () => {
  it('of a real backup match its manifest, as the full verification reads it, with the file facts from storage', async () => {
    const d = await readBackupDetails(target, 'good.tar.age', DMS);
    const m = verified.manifest;
    expect(d.dms).toBe('this');
    if (d.dms !== 'this') return;
    const st = fs.statSync(path.join(dir, 'good.tar.age'));
    expect(d.fileName).toBe('good.tar.age');
    expect(d.sizeBytes).toBe(original.length);
    expect(d.modifiedAt).toBe(st.mtime.toISOString());
    expect(d.createdAt).toBe(m.createdAt);
    expect(d.appliance).toEqual(m.appliance);
    expect(d.format).toBe('webconf-backup');
    expect(d.formatVersion).toBe(1);
    expect(d.signature).toBe('verified');
    expect(d.contents.members).toBe(m.members.length);
    expect(d.contents.dataBytes).toBe(m.members.reduce((n, x) => n + x.size, 0));
    expect(d.contents.database).toEqual({ engine: m.database.engine, integrityCheck: 'ok' });
    expect(d.contents.excluded).toEqual(m.contents.excluded);
    expect(d.contents.excluded.some((e) => e.startsWith('system/link'))).toBe(true);
    const part = (k: string) => d.contents.parts.find((p) => p.kind === k)!;
    expect(d.contents.parts.map((p) => p.label)).toEqual(['Firmware configuration', 'System configuration', 'Internal database']);
    expect(part('firmware')).toMatchObject({ included: true, files: 2, bytes: 20 + 6 });
    expect(part('system')).toMatchObject({ included: true, files: 2, bytes: 6 * MiB + 10 });
    const db = m.members.find((x) => x.kind === 'database')!;
    expect(part('database')).toMatchObject({ included: true, files: 1, bytes: db.size });
    // Plain JSON, and nothing secret in it.
    const json = JSON.stringify(d);
    expect(JSON.parse(json)).toEqual(d);
    expect(json).not.toContain(DMS);
    expect(json).not.toMatch(/sha256|salt|"value"/);
  });

  it('with another DMS: says so, with the file facts and no contents', async () => {
    const d = await readBackupDetails(target, 'good.tar.age', 'some other domain master secret');
    expect(d).toEqual({
      fileName: 'good.tar.age',
      sizeBytes: original.length,
      modifiedAt: fs.statSync(path.join(dir, 'good.tar.age')).mtime.toISOString(),
      dms: 'other',
      message: expect.stringMatching(/another Domain Master Secret/),
    });
    expect('contents' in d).toBe(false);
  });

  it('read a bounded prefix only: a flipped byte far after the manifest is not seen, and well under 1 MiB of a 6 MiB file is read', async () => {
    const name = put('late-damage.tar.age', flip(original.length - 3 * MiB));
    const c = counting(target);
    const d = await readBackupDetails(c.target, name, DMS);
    expect(d.dms).toBe('this');
    expect(d.dms === 'this' && d.signature).toBe('verified');
    expect(original.length).toBeGreaterThan(6 * MiB);
    expect(c.bytes()).toBeLessThan(MiB);
    expect(c.bytes()).toBeLessThanOrEqual(MAX_DETAILS_READ);
    // Every read asked for a range, none to the end of the file.
    expect(c.reads.every((r) => r.end !== undefined && r.end <= 256 * 1024)).toBe(true);
  });

  it("say the size a complete file has (from the manifest): the file's own for a good one, not for one cut short or extended after the manifest", async () => {
    const good = await readBackupDetails(target, 'good.tar.age', DMS);
    expect(good.dms === 'this' && good.expectedSizeBytes).toBe(original.length);
    for (const [name, bytes] of [
      ['cut.tar.age', original.subarray(0, original.length - 2 * CHUNK - 7)],
      ['longer.tar.age', Buffer.concat([original, Buffer.alloc(CHUNK)])],
    ] as const) {
      const d = await readBackupDetails(target, put(name, bytes), DMS);
      expect(d.dms === 'this' && d.signature).toBe('verified');
      expect(d.sizeBytes).toBe(bytes.length);
      expect(d.dms === 'this' && d.expectedSizeBytes).toBe(original.length);
    }
  });

  it('with checkEnd: the last chunk is read too and must authenticate as the last (64 KiB more); without it, damage there is not seen', async () => {
    const name = put('end-damage.tar.age', flip(original.length - 20));
    expect((await readBackupDetails(target, name, DMS)).dms).toBe('this');
    const e = await failure(readBackupDetails(target, name, DMS, { checkEnd: true }));
    expect(e.code).toBe('damaged');
    expect(e.message).toMatch(/its last chunk \(\d+\) failed authentication/);
    const c = counting(target);
    await readBackupDetails(c.target, 'good.tar.age', DMS, { checkEnd: true });
    expect(c.bytes()).toBeLessThan(MiB);
    expect(c.reads.at(-1)).toEqual({ start: original.length - (((original.length - payloadStart) % CHUNK) || CHUNK), end: original.length });
  });

  it('caches a result for the same file and DMS (no read the second time), not across DMSs', async () => {
    const c = counting(target);
    const first = await readBackupDetails(c.target, 'good.tar.age', DMS);
    const read = c.bytes();
    expect(await readBackupDetails(c.target, 'good.tar.age', DMS)).toEqual(first);
    expect(c.bytes()).toBe(read);
    expect((await readBackupDetails(c.target, 'good.tar.age', 'another secret')).dms).toBe('other');
    expect(c.bytes()).toBeGreaterThan(read);
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stopped by the test'));
    await expect(readBackupDetails(target, 'good.tar.age', DMS, { signal: ac.signal })).rejects.toThrow('stopped by the test');
  });

  it('of a missing file: not_found, in words', async () => {
    const e = await failure(readBackupDetails(target, 'missing.tar.age', DMS));
    expect(e.code).toBe('not_found');
    expect(e.message).toMatch(/missing\.tar\.age does not exist/);
  });
});

describe('not a backup', () => {
  const x25519 = async () => {
    const e = new Encrypter();
    e.addRecipient(await identityToRecipient(await generateX25519Identity()));
    return Buffer.from(await e.encrypt(crypto.randomBytes(100_000)));
  };
  /** An age file under the DMS whose plaintext is `plain` (a low work factor: details accept up to 2^18). */
  const underDms = async (plain: Buffer) => {
    const parts: Buffer[] = [];
    const enc = await encryptWithPassphrase(DMS, { logN: 10 });
    enc.on('data', (c: Buffer) => parts.push(c));
    await pipeline(Readable.from([plain]), enc);
    return Buffer.concat(parts);
  };
  const tarOf = async (name: string, body: Buffer) =>
    Buffer.concat([await tarHeader({ name, size: body.length, mode: 0o600, mtime: new Date() }), body, Buffer.alloc(512 - (body.length % 512 || 512)), Buffer.alloc(1024)]);

  const cases: [string, () => Buffer | Promise<Buffer>, RegExp][] = [
    ['random bytes', () => crypto.randomBytes(300_000), /not an encrypted \(age\) file/],
    ['an empty file', () => Buffer.alloc(0), /empty/],
    ['a text file', () => Buffer.from('Dear appliance,\nthis is a letter.\n'), /not an encrypted/],
    ['an age file for an X25519 recipient (age-encryption)', x25519, /encrypted to a key, not with a passphrase/],
    ['a header-only file (the backup\'s age header, nothing after it)', () => original.subarray(0, payloadStart - 16), /no encrypted contents/],
    ['a file cut inside its age header', () => original.subarray(0, 60), /complete age header/],
    ['an age file under the DMS that holds no tar', () => underDms(crypto.randomBytes(5000)), /does not start with manifest\.json/],
    ['an age file under the DMS whose tar starts with another file', async () => underDms(await tarOf('notes.txt', Buffer.from('hello'))), /does not start with manifest\.json/],
    ['a tar whose manifest.json is not JSON', async () => underDms(await tarOf('manifest.json', Buffer.from('{"format": "webconf-backup",'))), /not valid JSON/],
    [
      'a tar whose manifest.json says it is larger than 16 MiB (nothing past its header is read)',
      async () => underDms(Buffer.concat([await tarHeader({ name: 'manifest.json', size: 17 * MiB, mode: 0o600, mtime: new Date() }), Buffer.alloc(1000, 0x20)])),
      /manifest is larger than 16 MiB/,
    ],
    ['a tar whose manifest.json has the wrong fields', async () => underDms(await tarOf('manifest.json', Buffer.from('{"format":"something else"}'))), /fields/],
  ];
  for (const [what, make, words] of cases) {
    it(`${what}: not_a_backup, in words`, async () => {
      const name = put(`probe-${crypto.randomBytes(4).toString('hex')}.tar.age`, await make());
      const e = await failure(readBackupDetails(target, name, DMS));
      expect(e.code).toBe('not_a_backup');
      expect(e.message).toMatch(new RegExp(`^${name.replace(/\./g, '\\.')} is not a Webconf backup: `));
      expect(e.message).toMatch(words);
    });
  }

  it('a folder: not_a_backup', async () => {
    fs.mkdirSync(path.join(dir, 'folder.tar.age'));
    expect((await failure(readBackupDetails(target, 'folder.tar.age', DMS))).code).toBe('not_a_backup');
  });
});

describe('damaged', () => {
  const chunkAt = (i: number) => payloadStart + i * CHUNK;
  const cases: [string, () => Buffer, RegExp][] = [
    ['a flipped bit in the header MAC', () => flip(original.indexOf('\n---') + 6), /encryption header/],
    ['a flipped bit in the header MAC\'s last character', () => flip(payloadStart - 16 - 2), /encryption header/],
    ['a flipped bit in the scrypt salt', () => flip(original.indexOf('-> scrypt ') + 12), /Domain Master Secret|encryption header/],
    ['a flipped bit in the payload nonce', () => flip(payloadStart - 5), /chunk 0 failed authentication/],
    ['a flipped bit in the manifest chunk', () => flip(chunkAt(0) + 100), /chunk 0 failed authentication/],
    ['a truncated file (inside the manifest chunk)', () => original.subarray(0, chunkAt(0) + 1000), /cut short/],
    ['a truncated file (right after the manifest chunk)', () => original.subarray(0, chunkAt(1)), /cut short/],
    ['a file cut within the first chunk tag', () => original.subarray(0, payloadStart + 10), /cut short/],
  ];
  for (const [what, make, words] of cases) {
    it(`${what}: damaged, in words`, async () => {
      const name = put(`damaged-${crypto.randomBytes(4).toString('hex')}.tar.age`, make());
      const p = readBackupDetails(target, name, DMS);
      if (what.includes('salt')) {
        // A flipped salt derives another wrap key: age cannot tell that from another DMS.
        const d = await p.catch((e: unknown) => e);
        if (!(d instanceof BackupDetailsError)) {
          expect((d as BackupDetails).dms).toBe('other');
          return;
        }
      }
      const e = await failure(p);
      expect(e.code).toBe('damaged');
      expect(e.message).toMatch(new RegExp(`^${name.replace(/\./g, '\\.')} is damaged: `));
      expect(e.message).toMatch(words);
    });
  }

  it('a storage fault keeps the storage target\'s words: unreadable', async () => {
    const broken: StorageTarget = Object.create(target);
    broken.read = async () => {
      const r = new Readable({ read() {} });
      setImmediate(() => r.destroy(Object.assign(new Error('EIO'), { code: 'EIO' })));
      return r;
    };
    const e = await failure(readBackupDetails(broken, 'good.tar.age', DMS));
    expect(e.code).toBe('unreadable');
    const failing: StorageTarget = Object.create(target);
    failing.stat = async () => {
      const { StorageError } = await import('@/lib/storage/errors');
      throw new StorageError(target.label, 'stat good.tar.age', 'input/output error on the device', 'EIO');
    };
    const e2 = await failure(readBackupDetails(failing, 'good.tar.age', DMS));
    expect(e2.code).toBe('unreadable');
    expect(e2.message).toBe(`${target.label}: stat good.tar.age failed: input/output error on the device`);
  });
});

describe('isBackupFileName', () => {
  it('is true for finished backup names only', () => {
    expect(isBackupFileName('site-a-webconf01-20261122T043000Z.tar.age')).toBe(true);
    expect(isBackupFileName('backups/old/site-a-webconf01-20261122T043000Z-2.tar.age')).toBe(true);
    expect(isBackupFileName('.site-a-webconf01-20261122T043000Z.tar.age.partial')).toBe(false);
    expect(isBackupFileName('.hidden.tar.age')).toBe(false);
    expect(isBackupFileName('.tar.age')).toBe(false);
    expect(isBackupFileName('notes.txt')).toBe(false);
    expect(isBackupFileName('backup.tar')).toBe(false);
    expect(isBackupFileName('x.tar.age/')).toBe(false);
  });
});
