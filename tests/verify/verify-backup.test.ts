import { failingConditions } from '@/lib/alerts/conditions';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { recentAuditEvents } from '@/lib/audit/audit';
import { applianceRoot } from '@/lib/backup/appliance';
import { setDms } from '@/lib/backup/dms';
import { startBackup, waitForBackup } from '@/lib/backup/engine';
import { getBackupRun } from '@/lib/backup/runs';
import { db } from '@/lib/db/client';
import { backupRuns, backupVerifications, type BackupRun, type BackupVerification } from '@/lib/db/schema';
import { AppError } from '@/lib/errors';
import { saveStorageConfig } from '@/lib/storage/config';
import { copyFolder } from '@/lib/verify/database-copy';
import { getVerification, verificationsOfRun } from '@/lib/verify/queries';
import { recoverInterruptedVerifications, VERIFY_INTERRUPTED_MESSAGE } from '@/lib/verify/recovery';
import { abortRunningVerifications, verificationProgress, waitForVerification } from '@/lib/verify/registry';
import { verificationResultSchema, type VerificationResult } from '@/lib/verify/schemas';
import { startVerification, startVerificationAt, startVerificationOfRun, verifyStoredBackup, type VerifyRequest } from '@/lib/verify/verify-backup';
import { eq } from 'drizzle-orm';
import { craftBackup, damagedDatabase, plaintextOf, reencrypt } from './craft-backup';

/**
 * Quick and full verification of real backup files: one written by the
 * engine (about 3 MiB of configuration: some fifty 64 KiB chunks after the
 * manifest), copies of it damaged on the storage folder, the same archive
 * under another DMS or with its manifest changed, and a backup whose
 * database is itself damaged (every hash right). Each verification is a row
 * of backup_verifications; the database copy a full verification makes in
 * the data folder is gone afterwards, whatever the outcome.
 */
const DMS = 'verify test domain master secret';
const actor = { id: 1, name: 'operator', ip: '127.0.0.1' };
const CHUNK = 65536 + 16;
const MiB = 1 << 20;
let dir: string;
let run: BackupRun;
let original: Buffer;
let payloadStart: number;

const chunkAt = (i: number) => payloadStart + i * CHUNK;
const chunkCount = () => Math.ceil((original.length - payloadStart) / CHUNK);

function put(name: string, bytes: Buffer): string {
  fs.writeFileSync(path.join(dir, name), bytes);
  return name;
}

function flip(at: number): Buffer {
  const b = Buffer.from(original);
  b[at]! ^= 0x01;
  return b;
}

const verify = (fileName: string, level: 'quick' | 'full', extra: Partial<VerifyRequest> = {}) => verifyStoredBackup({ fileName, level, trigger: 'manual', actor, ...extra });
const resultOf = (row: BackupVerification): VerificationResult => verificationResultSchema.parse(JSON.parse(row.result!));

/** Plaintext left in the data folder by a verification (its database copy and SQLite's side files). */
const copiesLeft = () => (fs.existsSync(copyFolder()) ? fs.readdirSync(copyFolder()).filter((f) => f.startsWith('verify-')) : []);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-verify-'));
  const root = applianceRoot();
  const write = (rel: string, data: Buffer | string) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), data);
  };
  write('firmware/version.json', '{"firmware":"1.2.3"}');
  write('system/big.bin', crypto.randomBytes(3 * MiB));
  write('system/network/interfaces.conf', 'eth0 dhcp\n');
  await setDms(actor, DMS);
  await saveStorageConfig(actor, { type: 'local', path: dir });
  const started = await startBackup('manual', actor);
  await waitForBackup(started.id);
  run = getBackupRun(started.id)!;
  expect(run.status).toBe('succeeded');
  original = fs.readFileSync(path.join(dir, run.fileName!));
  payloadStart = original.indexOf('\n', original.indexOf('\n---') + 1) + 1 + 16;
  expect(chunkCount()).toBeGreaterThan(40);
}, 60_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  // After every verification, whatever its outcome: no plaintext copy left.
  expect(copiesLeft()).toEqual([]);
});

describe('a good backup', () => {
  it('passes quick: header MAC, signed manifest, exact length, last chunk; linked to its run', async () => {
    const row = await verify(run.fileName!, 'quick');
    expect(row.error).toBeNull();
    expect(row).toMatchObject({ status: 'passed', level: 'quick', trigger: 'manual', requestedBy: 'operator', backupRunId: run.id, fileName: run.fileName });
    expect(row.location).toBe(`file://${dir}`);
    expect(row.finishedAt!.getTime()).toBeGreaterThanOrEqual(row.startedAt.getTime());
    const r = resultOf(row);
    expect(r.passed).toEqual(['header', 'signature', 'length', 'end']);
    expect(r.sizeBytes).toBe(original.length);
    expect(r.expectedSizeBytes).toBe(original.length);
    expect(r.members).toBe(4);
    expect(r.checksum).toBeUndefined();
  });

  it('passes full: every chunk and member hash, the checksum recorded at writing, the database copy by SQLite; progress in bytes; nothing changed', async () => {
    const before = fs.statSync(path.join(dir, run.fileName!));
    const started = await startVerification({ fileName: run.fileName!, level: 'full', trigger: 'manual', actor });
    const samples: NonNullable<ReturnType<typeof verificationProgress>>[] = [];
    const sampler = setInterval(() => {
      const p = verificationProgress(started.id);
      if (p) samples.push(p);
    }, 10);
    await waitForVerification(started.id);
    clearInterval(sampler);
    const row = db().select().from(backupVerifications).where(eq(backupVerifications.id, started.id)).get()!;
    expect(row.error).toBeNull();
    expect(row.status).toBe('passed');
    const r = resultOf(row);
    expect(r.passed).toEqual(['header', 'signature', 'length', 'end', 'chunks', 'members', 'checksum', 'database']);
    expect(r.databaseIntegrity).toBe('ok');
    expect(r.checksum).toBe(run.checksum);
    expect(r.checksumMatchesHistory).toBe(true);
    expect(r.membersVerified).toBe(4);
    expect(r.bytesVerified).toBe(r.dataBytes);
    expect(r.dataBytes).toBeGreaterThan(3 * MiB);
    // Progress counts member bytes against the manifest's total, never past it.
    const counting = samples.filter((s) => s.bytesTotal !== null);
    expect(counting.length).toBeGreaterThan(0);
    for (const s of counting) {
      expect(s.bytesTotal).toBe(r.dataBytes);
      expect(s.bytesDone).toBeLessThanOrEqual(s.bytesTotal!);
    }
    // Once finished, no progress is kept; the view has none either.
    expect(verificationProgress(row.id)).toBeNull();
    expect(getVerification(row.id)).toMatchObject({ status: 'passed', progress: null, interrupted: false });
    // Read only: the file's bytes and times are as they were.
    const after = fs.statSync(path.join(dir, run.fileName!));
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(fs.readFileSync(path.join(dir, run.fileName!)).equals(original)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual([run.fileName]);
    // Audited: start and finish.
    const events = recentAuditEvents(20).filter((e) => e.action.startsWith('backup.verify.') && e.detail?.includes(`"verification":${row.id}`));
    expect(events.map((e) => `${e.action} ${e.outcome}`).sort()).toEqual(['backup.verify.finish success', 'backup.verify.start success']);
    expect(JSON.stringify(events)).not.toContain(DMS);
  });

  it('of the history (by run) and of a storage URL (the browser), both recorded against the run', async () => {
    const a = await startVerificationOfRun(run.id, 'quick', actor);
    await waitForVerification(a.id);
    const b = await startVerificationAt(`file://${dir}/${encodeURIComponent(run.fileName!)}`, 'quick', actor);
    await waitForVerification(b.id);
    const rows = verificationsOfRun(run.id);
    expect(rows.slice(0, 2).map((v) => v.id)).toEqual([b.id, a.id]);
    expect(rows.slice(0, 2).every((v) => v.status === 'passed' && v.location === `file://${dir}`)).toBe(true);
  });
});

describe('a damaged backup', () => {
  it('a flipped bit in a chunk far after the manifest: quick passes (it reads the header, the manifest chunk and the last chunk, not this one); full fails on that chunk', async () => {
    const late = Math.floor(chunkCount() / 2);
    const name = put('late-flip.tar.age', flip(chunkAt(late) + 100));
    const quick = await verify(name, 'quick');
    expect(quick.status).toBe('passed');
    // Not the run's file (another name): no run, no checksum to compare.
    expect(quick.backupRunId).toBeNull();
    const full = await verify(name, 'full');
    expect(full.status).toBe('failed');
    expect(full.error).toBe(`The backup file is damaged: chunk ${late} failed authentication.`);
    expect(resultOf(full).passed).toEqual(['header', 'signature', 'length', 'end']);
    // A failed verify is an alert condition, with the file and the reason; the next one that passes clears it.
    const failing = failingConditions().find((c) => c.key === 'verify');
    expect(JSON.parse(failing!.detail!)).toMatchObject({ what: 'Verification of late-flip.tar.age failed', why: full.error });
    expect((await verify(name, 'quick')).status).toBe('passed');
    expect(failingConditions().some((c) => c.key === 'verify')).toBe(false);
  });

  it('a flipped bit in the last chunk: quick fails (it authenticates the last chunk)', async () => {
    const name = put('last-flip.tar.age', flip(original.length - 3));
    const quick = await verify(name, 'quick');
    expect(quick.status).toBe('failed');
    expect(quick.error).toMatch(/^last-flip\.tar\.age is damaged: its last chunk \(\d+\) failed authentication/);
  });

  it('a file cut short after its manifest: quick fails on its length', async () => {
    const cut = original.length - 5 * CHUNK - 123;
    const name = put('truncated.tar.age', original.subarray(0, cut));
    const quick = await verify(name, 'quick');
    expect(quick.status).toBe('failed');
    expect(quick.error).toMatch(new RegExp(`^The file has ${cut} bytes; its manifest describes a file of ${original.length} bytes \\(.+ short: it was cut off\\)\\.$`));
    expect(resultOf(quick)).toMatchObject({ sizeBytes: cut, expectedSizeBytes: original.length, passed: ['header', 'signature'] });
  });

  it('data appended: quick fails on its length', async () => {
    const name = put('appended.tar.age', Buffer.concat([original, Buffer.from('extra')]));
    const quick = await verify(name, 'quick');
    expect(quick.error).toMatch(/describes a file of \d+ bytes \(5 bytes too long: data was added to it\)\./);
  });

  it('the same backup under another DMS: both levels fail, in words', async () => {
    const name = put('other-dms.tar.age', await reencrypt(await plaintextOf(original, DMS), 'another domain master secret'));
    for (const level of ['quick', 'full'] as const) {
      const row = await verify(name, level);
      expect(row.status).toBe('failed');
      expect(row.error).toMatch(/made with another Domain Master Secret/);
      expect(row.error).not.toContain(DMS);
    }
  });

  it('a manifest changed after it was signed (re-encrypted with the DMS): quick fails on the signature', async () => {
    const plain = await plaintextOf(original, DMS);
    // One character of a value (the firmware version's first digit): the manifest still parses.
    const key = '"firmwareVersion": "';
    const at = plain.indexOf(key) + key.length;
    expect(at).toBeGreaterThan(key.length);
    plain[at] = plain[at] === 0x39 ? 0x38 : 0x39;
    const name = put('changed-manifest.tar.age', await reencrypt(plain, DMS));
    const row = await verify(name, 'quick');
    expect(row.status).toBe('failed');
    expect(row.error).toMatch(/signature does not verify/);
  });

  it("the run's file replaced by another valid backup of the same name: full fails on the recorded checksum", async () => {
    const file = path.join(dir, run.fileName!);
    // Another encryption of the same archive: every chunk and hash is right, the bytes are not the ones written.
    fs.writeFileSync(file, await reencrypt(await plaintextOf(original, DMS), DMS));
    try {
      const row = await verify(run.fileName!, 'full');
      expect(row.status).toBe('failed');
      expect(row.error).toMatch(new RegExp(`not the one recorded when backup #${run.id} wrote it .*: the file was replaced by another one\\.$`));
      expect(resultOf(row)).toMatchObject({ checksumMatchesHistory: false, passed: ['header', 'signature', 'length', 'end', 'chunks', 'members'] });
    } finally {
      fs.writeFileSync(file, original);
    }
  });
});

describe('a backup of a damaged database', () => {
  it('every hash matches, so quick passes; full fails on SQLite integrity check of the copy, which is removed', async () => {
    const dbBytes = damagedDatabase(path.join(os.tmpdir(), `webconf-damaged-${process.pid}.db`));
    const name = put(
      'damaged-db.tar.age',
      await craftBackup(DMS, [
        { path: 'firmware/version.json', kind: 'firmware', data: Buffer.from('{"firmware":"1"}') },
        { path: 'database/webconf.db', kind: 'database', data: dbBytes },
      ]),
    );
    expect((await verify(name, 'quick')).status).toBe('passed');
    const full = await verify(name, 'full');
    expect(full.status).toBe('failed');
    expect(full.error).toMatch(/^Its internal database is damaged: SQLite's integrity check says "row 1 missing from index t_v; /);
    const r = resultOf(full);
    expect(r.passed).toEqual(['header', 'signature', 'length', 'end', 'chunks', 'members']);
    expect(r.databaseIntegrity).toMatch(/missing from index/);
  });

  it('a database member that is no database at all fails the same way', async () => {
    const name = put('not-a-db.tar.age', await craftBackup(DMS, [{ path: 'database/webconf.db', kind: 'database', data: crypto.randomBytes(8192) }]));
    const full = await verify(name, 'full');
    expect(full.error).toMatch(/^Its internal database is damaged: SQLite's integrity check says "file is not a database"/);
  });
});

describe('refusals and interruptions', () => {
  const refusal = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  };
  const count = () => db().select().from(backupVerifications).all().length;

  it('one verification at a time: a second one is refused in words, and nothing is recorded for it', async () => {
    const first = await startVerification({ fileName: run.fileName!, level: 'full', trigger: 'manual', actor });
    const rows = count();
    const err = await refusal(startVerification({ fileName: run.fileName!, level: 'quick', trigger: 'manual', actor: { ...actor, name: 'someone' } }));
    expect(err.code).toBe('conflict');
    expect(err.message).toMatch(new RegExp(`^Another verification is running: a full verification of ${run.fileName!.replace(/\./g, '\\.')} \\(started by operator at `));
    expect(count()).toBe(rows);
    await waitForVerification(first.id);
    expect(getVerification(first.id)!.status).toBe('passed');
  });

  it('a missing file, a bad name: refused, nothing recorded', async () => {
    const rows = count();
    const missing = await refusal(verify('missing.tar.age', 'quick'));
    expect(missing.code).toBe('not_found');
    expect(missing.message).toBe(`missing.tar.age is not on Local folder ${dir}.`);
    expect((await refusal(verify('../escape.tar.age', 'quick'))).code).toBe('unprocessable');
    expect((await refusal(startVerificationOfRun(999_999, 'quick', actor))).code).toBe('not_found');
    expect(count()).toBe(rows);
  });

  it('a full verification while a backup runs is refused; a quick one may run', async () => {
    const running = db().insert(backupRuns).values({ trigger: 'manual', requestedBy: 'someone', status: 'running', phase: 'writing', startedAt: new Date() }).returning().get();
    try {
      const err = await refusal(verify(run.fileName!, 'full'));
      expect(err.message).toMatch(/^A backup is in progress\. Start a full verification once it has finished/);
      expect((await verify(run.fileName!, 'quick')).status).toBe('passed');
    } finally {
      db().delete(backupRuns).where(eq(backupRuns.id, running.id)).run();
    }
  });

  it('stopped while it runs (shutdown): failed without a verdict, the reason recorded, the copy removed', async () => {
    const started = await startVerification({ fileName: run.fileName!, level: 'full', trigger: 'manual', actor });
    await abortRunningVerifications('The console was shut down during the verification; it did not finish.');
    const v = getVerification(started.id)!;
    expect(v).toMatchObject({ status: 'failed', interrupted: true, error: 'The console was shut down during the verification; it did not finish.' });
  });

  it('at start: a verification left running by a killed process is recorded as interrupted, and only its copies are removed', async () => {
    const stale = db()
      .insert(backupVerifications)
      .values({ location: `file://${dir}`, fileName: run.fileName!, level: 'full', trigger: 'scheduled', requestedBy: 'scheduler', status: 'running', startedAt: new Date() })
      .returning()
      .get();
    fs.mkdirSync(copyFolder(), { recursive: true });
    for (const f of [`verify-${stale.id}.db`, `verify-${stale.id}.db-wal`, `verify-${stale.id}.db-shm`]) fs.writeFileSync(path.join(copyFolder(), f), 'SQLite format 3\0 plaintext');
    fs.writeFileSync(path.join(copyFolder(), 'unrelated.txt'), 'kept');
    expect(recoverInterruptedVerifications()).toEqual({ verifications: 1, copiesRemoved: 3 });
    expect(getVerification(stale.id)).toMatchObject({ status: 'failed', interrupted: true, error: VERIFY_INTERRUPTED_MESSAGE });
    expect(fs.readdirSync(copyFolder())).toContain('unrelated.txt');
    fs.rmSync(path.join(copyFolder(), 'unrelated.txt'));
  });
});
