import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import { eq } from 'drizzle-orm';
import { audit, type Actor } from '../audit/audit';
import { db } from '../db/client';
import { backupRuns, type BackupRun } from '../db/schema';
import { dataDir } from '../env';
import { AppError } from '../errors';
import { log } from '../log';
import { openStorage } from '../storage/config';
import type { StorageTarget, StorageWriter } from '../storage/types';
import { FILE_KEY_SIZE } from './age/format';
import { decryptWithFileKey, encryptWithFileKey, encryptedSize, wrapFileKey } from './age';
import { applianceIdentity } from './appliance';
import { DATABASE_MEMBER, collectMembers, packArchive, tarSize } from './archive';
import { isDmsSet, unsealDms } from './dms';
import { backupFileName, partialName } from './file-name';
import { MANIFEST_FORMAT, MANIFEST_VERSION, signManifest } from './manifest';
import { applyRetention } from './retention';
import { runningBackup } from './runs';
import { getBackupSettings } from './settings';
import { HashPool } from './hash-pool';
import { verifyArchive } from './verify-archive';

/**
 * The backup engine. One backup at a time, guaranteed by the database (a
 * partial unique index on status = 'running'). A run:
 *   1. snapshot  the internal database, copied online (SQLite backup API), integrity-checked
 *   2. hashing   every member, for the signed manifest that leads the archive
 *   3. writing   tar -> age (DMS passphrase) -> ".<name>.partial" on the target, fsync'ed
 *   4. verifying the written file read back: decrypted, manifest signature and every member hash checked
 *   5. publishing rename to the final name (never replacing a file), then retention
 * Any failure removes the partial file; nothing ever appears under a final
 * name unless it was verified. Plaintext never reaches the target's disk and
 * memory stays bounded: everything streams.
 */
export type Trigger = BackupRun['trigger'];

const PROGRESS_EVERY_MS = 250;
const SPACE_MARGIN = 1 << 20;

/** Why no backup can be created right now, or null. */
export async function backupBlocker(): Promise<string | null> {
  if (!isDmsSet()) return 'Set the Domain Master Secret first.';
  const target = openStorage();
  if (!target) return 'Choose a backup storage location first.';
  try {
    const access = await target.access();
    if (!access.write) return `The console cannot write to ${target.label}.`;
  } catch (err) {
    return `${target.label} is unreachable: ${(err as Error).message}`;
  } finally {
    await target.close().catch(() => undefined);
  }
  return null;
}

type Registry = { controllers: Map<number, AbortController>; done: Map<number, Promise<void>> };
const REGISTRY = Symbol.for('webconf.backup.registry');
function registry(): Registry {
  const g = globalThis as unknown as Record<symbol, Registry>;
  g[REGISTRY] ??= { controllers: new Map(), done: new Map() };
  return g[REGISTRY];
}

/** Aborts the running backup of this process (shutdown) and waits until it has cleaned up. */
export async function abortRunningBackups(reason: string): Promise<void> {
  const r = registry();
  // A plain Error: this may be called from another module instance (server.ts), where classes differ.
  for (const c of r.controllers.values()) c.abort(new Error(reason));
  await Promise.allSettled([...r.done.values()]);
}

function isUnique(err: unknown): boolean {
  return String((err as { code?: string }).code).startsWith('SQLITE_CONSTRAINT');
}

/** Starts a backup and returns at once; the run goes on in the background. */
export async function startBackup(trigger: Trigger, actor: Actor): Promise<BackupRun> {
  const blocker = await backupBlocker();
  if (blocker) {
    audit(actor, 'backup.start', 'failure', { detail: { trigger, reason: blocker } });
    throw new AppError('conflict', blocker);
  }
  let run: BackupRun;
  try {
    run = db()
      .insert(backupRuns)
      .values({ trigger, requestedBy: actor.name, status: 'running', phase: 'preparing', startedAt: new Date() })
      .returning()
      .get();
  } catch (err) {
    if (!isUnique(err)) throw err;
    const other = runningBackup();
    const message = `A backup is already in progress${other ? ` (started by ${other.requestedBy} at ${other.startedAt.toISOString()})` : ''}. Wait until it has finished.`;
    audit(actor, 'backup.start', 'denied', { detail: { trigger, reason: 'already running' } });
    throw new AppError('conflict', message);
  }
  audit(actor, 'backup.start', 'success', { target: String(run.id), detail: { trigger } });
  const controller = new AbortController();
  const r = registry();
  r.controllers.set(run.id, controller);
  const done = execute(run, controller.signal).finally(() => {
    r.controllers.delete(run.id);
    r.done.delete(run.id);
  });
  r.done.set(run.id, done);
  return run;
}

/** Waits for a run of this process to end (tests, CLI). */
export function waitForBackup(id: number): Promise<void> {
  return registry().done.get(id) ?? Promise.resolve();
}

function update(id: number, values: Partial<BackupRun>): void {
  db().update(backupRuns).set(values).where(eq(backupRuns.id, id)).run();
}

/** Milliseconds spent in each phase, for the log. */
function phaseClock() {
  const timings: Record<string, number> = {};
  let name = 'preparing';
  let since = performance.now();
  return {
    timings,
    enter(next: string) {
      timings[name] = Math.round(performance.now() - since);
      name = next;
      since = performance.now();
    },
  };
}

/** Counts plaintext bytes for the progress bar, writing to the database at most every 250 ms. */
function progressCounter(id: number): Transform {
  let done = 0;
  let last = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      done += chunk.length;
      const now = Date.now();
      if (now - last >= PROGRESS_EVERY_MS) {
        last = now;
        update(id, { bytesDone: done });
      }
      cb(null, chunk);
    },
    flush(cb) {
      update(id, { bytesDone: done });
      cb();
    },
  });
}

async function snapshotDatabase(file: string): Promise<string> {
  await db().$client.backup(file);
  const snap = new Database(file, { readonly: true });
  try {
    const rows = snap.pragma('integrity_check') as { integrity_check: string }[];
    return rows.map((r) => r.integrity_check).join('; ');
  } finally {
    snap.close();
  }
}

function humanBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

async function uniqueName(target: StorageTarget, prefix: string, appliance: string, at: Date): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const name = backupFileName(prefix, appliance, at, attempt);
    if (!(await target.stat(name)) && !(await target.stat(partialName(name)))) return name;
  }
}

async function execute(run: BackupRun, signal: AbortSignal): Promise<void> {
  const tmpDir = path.join(dataDir(), 'tmp');
  await fsp.mkdir(tmpDir, { recursive: true, mode: 0o700 });
  const snapshot = path.join(tmpDir, `snapshot-${run.id}.db`);
  let target: StorageTarget | null = null;
  let writer: StorageWriter | null = null;
  let tempName: string | null = null;
  const clock = phaseClock();
  const pool = new HashPool(2);
  const phase = (p: BackupRun['phase'], extra: Partial<BackupRun> = {}) => {
    clock.enter(p);
    update(run.id, { phase: p, ...extra });
  };
  try {
    target = openStorage();
    if (!target) throw new AppError('conflict', 'Choose a backup storage location first.');
    const dms = unsealDms();
    const identity = applianceIdentity();
    const settings = getBackupSettings();
    // The file key's scrypt (logN 18, ~1 s) runs on the thread pool while the members are hashed.
    const fileKey = crypto.randomBytes(FILE_KEY_SIZE);
    const stanza = wrapFileKey(dms, fileKey);
    stanza.catch(() => undefined);

    phase('snapshot', { target: target.label });
    const integrity = await snapshotDatabase(snapshot);
    signal.throwIfAborted();

    phase('hashing');
    const members = await collectMembers(snapshot, pool, signal);
    const createdAt = new Date();
    const manifest = await signManifest(
      {
        format: MANIFEST_FORMAT,
        formatVersion: MANIFEST_VERSION,
        appliance: identity,
        createdAt: createdAt.toISOString(),
        contents: {
          firmwareConfiguration: true,
          systemConfiguration: true,
          internalDatabase: true,
          excluded: ['HSM contents', 'external databases (their configuration is included)'],
        },
        database: { engine: `SQLite ${db().$client.prepare('select sqlite_version() as v').pluck().get() as string}`, integrityCheck: integrity, path: DATABASE_MEMBER },
        members: members.map(({ path: p, kind, size, sha256 }) => ({ path: p, kind, size, sha256 })),
      },
      dms,
    );
    const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2));
    const plainSize = tarSize(manifestBytes.length, members);
    const cipherSize = encryptedSize(plainSize);

    const space = await target.space();
    if (space.freeBytes < cipherSize + SPACE_MARGIN) {
      throw new AppError(
        'conflict',
        `Not enough free space on ${target.label}: the backup needs about ${humanBytes(cipherSize)}, ${humanBytes(space.freeBytes)} is free.`,
      );
    }

    const fileName = await uniqueName(target, settings.filenamePrefix, identity.name, createdAt);
    tempName = partialName(fileName);
    phase('writing', { fileName, tempName, bytesExpected: plainSize, bytesDone: 0 });
    writer = await target.create(tempName);
    const checksumTap = pool.tap();
    await pipeline(packArchive(manifestBytes, members), progressCounter(run.id), encryptWithFileKey(fileKey, [await stanza]), checksumTap.stream, writer.stream, { signal });
    clock.enter('flush');
    await writer.commit();
    writer = null;
    const checksum = await checksumTap.digest;

    // Read back what the target stored: the header MAC and every chunk must
    // authenticate under the file key (so the stored bytes are exactly those
    // written and hashed above), and the archive inside must hold the signed
    // manifest and every member in order with its size. The per-member SHA-256
    // was taken from the same unchanged files; a full verification with only
    // the DMS is verifyBackupFile (verify and restore).
    phase('verifying');
    const stored = await target.read(tempName);
    let verified;
    try {
      const plain = await decryptWithFileKey(stored, fileKey);
      signal.addEventListener('abort', () => plain.destroy(signal.reason as Error), { once: true });
      verified = await verifyArchive(plain, dms, { hashMembers: false });
    } finally {
      stored.destroy();
    }
    if (verified.membersVerified !== members.length) throw new AppError('conflict', 'The file read back does not hold every member.');

    phase('publishing');
    signal.throwIfAborted();
    await target.rename(tempName, fileName);
    tempName = null;
    const size = (await target.stat(fileName))?.size ?? null;
    update(run.id, {
      status: 'succeeded',
      phase: 'done',
      finishedAt: new Date(),
      sizeBytes: size,
      checksum,
      bytesDone: plainSize,
      manifest: JSON.stringify({
        appliance: manifest.appliance,
        createdAt: manifest.createdAt,
        database: manifest.database,
        contents: manifest.contents,
        members: manifest.members.length,
        dataBytes: members.reduce((n, m) => n + m.size, 0),
        signatureVerified: verified.signatureVerified,
      }),
    });
    clock.enter('done');
    log.info({ event: 'backup.succeeded', run: run.id, file: fileName, bytes: size, target: target.label, phaseMs: clock.timings }, 'backup succeeded');
    audit({ id: null, name: run.requestedBy, ip: null }, 'backup.finish', 'success', { target: fileName, detail: { run: run.id, size } });
    await applyRetention(target, settings.retention).catch((err) =>
      log.error({ event: 'backup.retention.error', err: (err as Error).message }, 'retention failed'),
    );
  } catch (err) {
    const aborted = signal.aborted;
    const reason = aborted ? (signal.reason as Error | undefined)?.message : undefined;
    const message = reason || errorWords(err);
    if (writer) await writer.abort().catch(() => undefined);
    if (target && tempName) await target.remove(tempName).catch(() => undefined);
    update(run.id, { status: aborted ? 'aborted' : 'failed', finishedAt: new Date(), error: message, tempName: null });
    log.warn({ event: aborted ? 'backup.aborted' : 'backup.failed', run: run.id, reason: message }, 'backup did not complete');
    audit({ id: null, name: run.requestedBy, ip: null }, 'backup.finish', 'failure', { target: String(run.id), detail: { reason: message } });
  } finally {
    await pool.close().catch(() => undefined);
    await fsp.rm(snapshot, { force: true }).catch(() => undefined);
    fs.rmSync(`${snapshot}-journal`, { force: true });
    await target?.close().catch(() => undefined);
  }
}

function errorWords(err: unknown): string {
  if (err instanceof AppError) return err.message;
  const e = err as Error & { code?: string };
  if (e?.name === 'AbortError') return 'The backup was stopped.';
  if (e?.name === 'StorageError' || e?.name?.startsWith('Age') || e?.name === 'BackupVerifyError') return e.message;
  log.error({ event: 'backup.error', err: e?.message, stack: e?.stack }, 'unexpected backup error');
  return `The backup failed: ${e?.message ?? 'unknown error'}`;
}
