import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { applianceRoot } from '@/lib/backup/appliance';
import { readBackupDetails } from '@/lib/backup/details';
import { setDms } from '@/lib/backup/dms';
import { startBackup, waitForBackup } from '@/lib/backup/engine';
import { applianceKeyCache } from '@/lib/backup/key-cache';
import { getBackupRun } from '@/lib/backup/runs';
import { verifyBackupFile } from '@/lib/backup/verify-file';
import { seal } from '@/lib/crypto/seal';
import { databaseFile, db } from '@/lib/db/client';
import { derivedKeys } from '@/lib/db/schema';
import { saveStorageConfig } from '@/lib/storage/config';
import { LocalFolderTarget } from '@/lib/storage/local-folder';
import type { StorageTarget } from '@/lib/storage/types';

/**
 * The appliance remembers the keys scrypt derives for its backups
 * (key-cache.ts): its own backups verify, show their details and restore
 * with no scrypt at all, while everything a verification refuses is still
 * refused, whatever the cache holds.
 */
const DMS = 'key cache test domain master secret';
const actor = { id: 1, name: 'admin', ip: null };
let dir: string;
let fileName: string;
let checksum: string;
const target = () => new LocalFolderTarget(dir);

/** The target without localPath: the stream path, as for an NFS share. */
function streamOnly(t: StorageTarget): StorageTarget {
  const wrapped: StorageTarget = Object.create(t);
  Object.defineProperty(wrapped, 'localPath', { value: undefined });
  return wrapped;
}

/** Counts the scrypt runs `f` starts (lib/age and lib/crypto both call node:crypto's scrypt). */
async function scryptRuns<T>(f: () => Promise<T>): Promise<{ runs: number; result: T }> {
  const spy = vi.spyOn(crypto, 'scrypt');
  try {
    const result = await f();
    return { runs: spy.mock.calls.length, result };
  } finally {
    spy.mockRestore();
  }
}

const rows = () => db().select().from(derivedKeys).all();

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-key-cache-'));
  fs.mkdirSync(path.join(applianceRoot(), 'system'), { recursive: true });
  fs.writeFileSync(path.join(applianceRoot(), 'system', 'big.bin'), crypto.randomBytes(3 << 20));
  await setDms(actor, DMS);
  await saveStorageConfig(actor, { type: 'local', path: dir });
  const run = await startBackup('manual', actor);
  await waitForBackup(run.id);
  const done = getBackupRun(run.id)!;
  expect(done.status).toBe('succeeded');
  fileName = done.fileName!;
  checksum = done.checksum!;
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('keys derived for a backup', () => {
  afterEach(() => {
    // Every test starts from what the engine left: both keys of the file, sealed.
    expect(rows()).toHaveLength(2);
  });

  it('the engine leaves the file key and the manifest key, sealed, and neither in clear in the database', async () => {
    const all = rows();
    expect(all).toHaveLength(2);
    for (const r of all) expect(r.sealed).toMatch(/^v1\./);
    // The file key itself, as the cache answers it, appears nowhere in the database file.
    const stanzaKey = await scryptRuns(async () => {
      const bytes = fs.readFileSync(path.join(dir, fileName));
      const { parseHeader } = await import('@/lib/age/header');
      const parsed = parseHeader(bytes)!;
      return applianceKeyCache.files.get(DMS, parsed.header.stanzas);
    });
    const key = Buffer.from(stanzaKey.result!);
    expect(key).toHaveLength(16);
    db().$client.pragma('wal_checkpoint(TRUNCATE)');
    const file = fs.readFileSync(databaseFile());
    expect(file.includes(key)).toBe(false);
    expect(file.includes(Buffer.from(key.toString('base64')))).toBe(false);
    expect(file.includes(Buffer.from(key.toString('hex')))).toBe(false);
  });

  it.each([
    ['local', target],
    ['stream', () => streamOnly(target())],
  ])('a full verification of the appliance’s own backup (%s path) runs no scrypt and gives the same answer as one without the cache', async (_n, t) => {
    const warm = await scryptRuns(() => verifyBackupFile(t(), fileName, DMS, { keyCache: applianceKeyCache }));
    expect(warm.runs).toBe(0);
    const cold = await scryptRuns(() => verifyBackupFile(t(), fileName, DMS));
    expect(cold.runs).toBe(2);
    expect(warm.result.checksum).toBe(checksum);
    expect(warm.result).toEqual(cold.result);
  });

  it('Backup Details read with the cache run no scrypt and show the signature verified', async () => {
    const d = await scryptRuns(() => readBackupDetails(target(), fileName, DMS, { fresh: true, keyCache: applianceKeyCache }));
    expect(d.runs).toBe(0);
    expect(d.result.dms).toBe('this');
    expect(d.result.dms === 'this' && d.result.signature).toBe('verified');
  });

  it('after the cache lost its rows, one verification runs scrypt and puts them back; the next runs none', async () => {
    const before = rows();
    db().delete(derivedKeys).run();
    const first = await scryptRuns(() => verifyBackupFile(target(), fileName, DMS, { keyCache: applianceKeyCache }));
    expect(first.runs).toBe(2);
    expect(rows().map((r) => r.id).sort()).toEqual(before.map((r) => r.id).sort());
    const second = await scryptRuns(() => verifyBackupFile(target(), fileName, DMS, { keyCache: applianceKeyCache }));
    expect(second.runs).toBe(0);
  });

  it('a wrong DMS is refused with the cache warm (its rows answer only the DMS that derived them)', async () => {
    await expect(verifyBackupFile(target(), fileName, 'another domain master secret', { keyCache: applianceKeyCache })).rejects.toThrow();
    const d = await readBackupDetails(target(), fileName, 'another domain master secret', { fresh: true, keyCache: applianceKeyCache });
    expect(d.dms).toBe('other');
    expect(rows()).toHaveLength(2);
  });

  it('a header changed in its wrapped key is refused with the cache warm', async () => {
    const bytes = fs.readFileSync(path.join(dir, fileName));
    const { parseHeader } = await import('@/lib/age/header');
    const size = parseHeader(bytes)!.size;
    // The stanza's body line sits before the MAC line ("--- ..."); flip a base64 character in it.
    const text = bytes.subarray(0, size).toString('latin1');
    const at = text.indexOf('\n---') - 5;
    const tampered = Buffer.from(bytes);
    tampered[at] = tampered[at] === 0x41 ? 0x42 : 0x41;
    const name = 'tampered.age';
    fs.writeFileSync(path.join(dir, name), tampered);
    try {
      await expect(verifyBackupFile(target(), name, DMS, { keyCache: applianceKeyCache })).rejects.toThrow();
    } finally {
      fs.rmSync(path.join(dir, name));
    }
  });

  it('a row of the right id holding another key is not trusted: scrypt runs and the file verifies', async () => {
    const saved = rows();
    try {
      for (const r of saved) db().update(derivedKeys).set({ sealed: seal(crypto.randomBytes(16).toString('base64'), `derived-key:${r.id}`) }).where(eq(derivedKeys.id, r.id)).run();
      const v = await scryptRuns(() => verifyBackupFile(target(), fileName, DMS, { keyCache: applianceKeyCache }));
      expect(v.runs).toBe(2);
      expect(v.result.checksum).toBe(checksum);
    } finally {
      db().delete(derivedKeys).run();
      for (const r of saved) db().insert(derivedKeys).values(r).run();
    }
  });

  it('a row sealed by another appliance (it does not open here) is dropped and learnt again', async () => {
    const saved = rows();
    for (const r of saved) db().update(derivedKeys).set({ sealed: seal('not this appliance', 'another purpose') }).where(eq(derivedKeys.id, r.id)).run();
    const v = await scryptRuns(() => verifyBackupFile(target(), fileName, DMS, { keyCache: applianceKeyCache }));
    expect(v.runs).toBe(2);
    const again = await scryptRuns(() => verifyBackupFile(target(), fileName, DMS, { keyCache: applianceKeyCache }));
    expect(again.runs).toBe(0);
  });
});
