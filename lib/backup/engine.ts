import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { eq } from 'drizzle-orm';
import { alertEvents } from '../alerts/events';
import { audit, type Actor } from '../audit/audit';
import { db } from '../db/client';
import { exclusiveOperationRefusal, isConstraintViolation } from '../db/errors';
import { backupRuns, type BackupRun } from '../db/schema';
import { dataDir } from '../env';
import { AppError } from '../errors';
import { log } from '../log';
import { processState } from '../process-state';
import { getStorageConfig, openStorage } from '../storage/config';
import { StorageError } from '../storage/errors';
import { forgetListings } from '../storage/browser';
import { formatSize } from '../storage/format-size';
import { spaceWarning } from '../storage/space-warning';
import type { SpaceInfo, StorageTarget, StorageWriter } from '../storage/types';
import { estimateNextBackupBytes } from './estimate';
import { CHUNK_SIZE, FILE_KEY_SIZE } from '../age/format';
import { DeferredEncryption, decryptWithFileKey, encryptedSize, wrapFileKey } from '../age';
import { applianceIdentity } from './appliance';
import { ArchiveReader, DATABASE_MEMBER, TAR_BLOCK, listMembers, manifestEntry, padManifest, planArchive, reservedManifestSize } from './archive';
import { isDmsSet, unsealDms } from './dms';
import { backupFileName, partialName } from './file-name';
import { MANIFEST_FORMAT, MANIFEST_VERSION, ManifestSigner, runManifestSummary, withPlaceholderSignature, type UnsignedManifest } from './manifest';
import { applyRetention } from './retention';
import { runningBackup } from './runs';
import { getBackupSettings } from './settings';
import { BackupWorkers } from './backup-workers';
import { writeEncryptedArchive } from './archive-writer';
import { verifyReadBack } from './verify-archive';
import { applianceKeyCache } from './key-cache';
import { readBackFile } from './read-back';

/**
 * The backup engine. One backup at a time, guaranteed by the database (a
 * partial unique index on status = 'running'). A run:
 *   1. snapshot   the internal database, copied online (SQLite backup API), integrity-checked
 *   2. writing    one pass (archive-writer.ts): the tar archive planned up front, each member
 *                 read once into shared memory, hashed by one worker and sealed (age STREAM)
 *                 by the other from the same bytes, written to ".<name>.partial"; then the
 *                 signed manifest and the age header (whose scrypts ran meanwhile) are
 *                 written into the space reserved at the start (DeferredEncryption)
 *   3. verifying  fsync and, meanwhile, the stored file read back (once, from the device on a
 *                 local disk: read-back.ts): header MAC, every chunk authenticated, the
 *                 signed manifest first, the exact length; its SHA-256 is the checksum
 *   4. publishing rename to the final name (never replacing a file), then retention
 * Any failure removes the partial file; nothing ever appears under a final
 * name unless it was verified. Plaintext never reaches the target's disk and
 * memory stays bounded: everything streams.
 */
export type Trigger = BackupRun['trigger'];

const PROGRESS_EVERY_MS = 250;
const SPACE_MARGIN = 1 << 20;

/**
 * The storage check behind the status panel, kept for a few seconds per
 * storage setting: the panel polls, and for an NFS share each check is a
 * connection, a session and an ACCESS. Starting a backup always checks afresh.
 */
const STORAGE_CHECK_MS = 15_000;

/** What the last storage check found: why no backup can run (or null), a free-space warning, the space. */
export type StorageState = { blocker: string | null; warning: string | null; space: SpaceInfo | null; expectedBytes: number | null; label: string | null };
// One per process (process-state.ts): a backup started by a server action clears what the status route keeps.
const checks = processState('backup.storage-check', () => ({ last: null as { key: string; at: number; result: StorageState } | null }));

/** Why no backup can be created right now, or null. */
export async function backupBlocker(opts: { fresh?: boolean } = {}): Promise<string | null> {
  if (!isDmsSet()) return 'Set the Domain Master Secret first.';
  return (await storageState(opts)).blocker;
}

/** The configured storage's state (kept STORAGE_CHECK_MS per setting unless fresh). */
export async function storageState(opts: { fresh?: boolean } = {}): Promise<StorageState> {
  const key = JSON.stringify(getStorageConfig());
  const kept = checks.last;
  if (!opts.fresh && kept && kept.key === key && Date.now() - kept.at < STORAGE_CHECK_MS) return kept.result;
  const result = await checkStorage();
  checks.last = { key, at: Date.now(), result };
  return result;
}

/** Forgets the kept storage check (after a backup wrote to it, or the drive was ejected). */
export function forgetStorageState(): void {
  checks.last = null;
}

async function checkStorage(): Promise<StorageState> {
  const target = openStorage();
  if (!target) return { blocker: 'Choose a backup storage location first.', warning: null, space: null, expectedBytes: null, label: null };
  const state: StorageState = { blocker: null, warning: null, space: null, expectedBytes: null, label: target.label };
  try {
    // A check that changes nothing where the target has one (a USB drive is not mounted for it).
    const quick = target.status ? await target.status() : null;
    const write = quick ? quick.write : (await target.access()).write;
    if (write === false) {
      alertEvents.storageUnavailable(`The console cannot write to ${target.label}.`);
      return { ...state, blocker: `The console cannot write to ${target.label}.` };
    }
    alertEvents.storageAvailable(target.label);
    state.space = quick ? quick.space : await target.space().catch(() => null);
    state.expectedBytes = await estimateNextBackupBytes().catch(() => null);
    if (state.space) state.warning = spaceWarning(state.space, state.expectedBytes);
    if (state.space && state.warning) alertEvents.storageLow(state.warning);
    else if (state.space) alertEvents.storageSpaceOk(target.label);
  } catch (err) {
    // A StorageError names the target and the operation already; its reason is what is left to say.
    const why = err instanceof StorageError ? err.reason : (err as Error).message;
    alertEvents.storageUnavailable(`${target.label} is unavailable: ${why}`);
    return { ...state, blocker: `${target.label} is unavailable: ${why}` };
  } finally {
    await target.close().catch(() => undefined);
  }
  return state;
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

/** Starts a backup and returns at once; the run goes on in the background. */
export async function startBackup(trigger: Trigger, actor: Actor): Promise<BackupRun> {
  const blocker = await backupBlocker({ fresh: true });
  if (blocker) {
    audit(actor, 'backup.start', 'failure', { detail: { trigger, reason: blocker } });
    // Nobody watches a scheduled start: its refusal goes into the history as a failed run, with the reason.
    if (trigger === 'scheduled' && !runningBackup()) {
      const now = new Date();
      safely(() =>
        db()
          .insert(backupRuns)
          .values({ trigger, requestedBy: actor.name, status: 'failed', phase: 'preparing', startedAt: now, finishedAt: now, error: `The scheduled backup did not start: ${blocker}` })
          .run(),
      );
      alertEvents.backupFailed(blocker, null, true);
    }
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
    if (exclusiveOperationRefusal(err) === 'restore') {
      audit(actor, 'backup.start', 'denied', { detail: { trigger, reason: 'restore in progress' } });
      throw new AppError('conflict', 'A restore is in progress. No backup can start until it has finished.');
    }
    // The partial unique index refused a second running row.
    if (!isConstraintViolation(err, 'UNIQUE')) throw err;
    const other = runningBackup();
    const message = `A backup is already in progress${other ? ` (started by ${other.requestedBy} at ${other.startedAt.toISOString()})` : ''}. Wait until it has finished.`;
    audit(actor, 'backup.start', 'denied', { detail: { trigger, reason: 'already running' } });
    throw new AppError('conflict', message);
  }
  audit(actor, 'backup.start', 'success', { target: String(run.id), detail: { trigger } });
  const controller = new AbortController();
  const r = registry();
  r.controllers.set(run.id, controller);
  const done = execute(run, controller.signal)
    .catch((err) => log.error({ event: 'backup.bookkeeping-failed', run: run.id, err: (err as Error).message }, 'backup run ended without its record'))
    .finally(() => {
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


async function uniqueName(target: StorageTarget, prefix: string, appliance: string, at: Date): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const name = backupFileName(prefix, appliance, at, attempt);
    if (!(await target.stat(name)) && !(await target.stat(partialName(name)))) return name;
  }
}

async function execute(run: BackupRun, signal: AbortSignal): Promise<void> {
  const tmpDir = path.join(dataDir(), 'tmp');
  const snapshot = path.join(tmpDir, `snapshot-${run.id}.db`);
  let target: StorageTarget | null = null;
  let writer: StorageWriter | null = null;
  let tempName: string | null = null;
  const clock = phaseClock();
  const workers = new BackupWorkers(2);
  const phase = (p: BackupRun['phase'], extra: Partial<BackupRun> = {}) => {
    clock.enter(p);
    update(run.id, { phase: p, ...extra });
  };
  try {
    await fsp.mkdir(tmpDir, { recursive: true, mode: 0o700 });
    target = openStorage();
    if (!target) throw new AppError('conflict', 'Choose a backup storage location first.');
    const dms = unsealDms();
    const identity = applianceIdentity();
    const settings = getBackupSettings();
    // The file key's scrypt (logN 18, ~1 s) runs on the thread pool while the archive is written.
    const fileKey = crypto.randomBytes(FILE_KEY_SIZE);
    const stanza = wrapFileKey(dms, fileKey);
    stanza.catch(() => undefined);
    // The manifest key's scrypt too.
    const signer = new ManifestSigner(dms);

    phase('snapshot', { target: target.label });
    const integrity = await snapshotDatabase(snapshot);
    signal.throwIfAborted();

    // Single pass: every member is read once, hashed (in a worker) as it is
    // packed and encrypted. The manifest leads the archive but needs those
    // hashes, so its chunks are reserved and written last, with the age
    // header (whose scrypt runs meanwhile): see DeferredEncryption.
    const skipped: string[] = [];
    const members = await listMembers(snapshot, skipped);
    if (skipped.length) log.warn({ event: 'backup.skipped', run: run.id, paths: skipped.slice(0, 50) }, 'not regular files: left out of the backup');
    const createdAt = new Date();
    const mtime = new Date(Math.floor(createdAt.getTime() / 1000) * 1000);
    const unsigned = (hashes: string[]): UnsignedManifest => ({
      format: MANIFEST_FORMAT,
      formatVersion: MANIFEST_VERSION,
      appliance: identity,
      createdAt: createdAt.toISOString(),
      contents: {
        firmwareConfiguration: true,
        systemConfiguration: true,
        internalDatabase: true,
        excluded: [
          'HSM contents',
          'external databases (their configuration is included)',
          ...skipped.map((p) => `${p} (not a regular file: symbolic link or special file)`),
        ],
      },
      database: { engine: `SQLite ${db().$client.prepare('select sqlite_version() as v').pluck().get() as string}`, integrityCheck: integrity, path: DATABASE_MEMBER },
      members: members.map((m, i) => ({ path: m.path, kind: m.kind, size: m.size, sha256: hashes[i]! })),
    });
    const jsonLength = Buffer.byteLength(JSON.stringify(withPlaceholderSignature(unsigned(members.map(() => '0'.repeat(64)))), null, 2));
    const manifestSize = reservedManifestSize(jsonLength, CHUNK_SIZE);
    const reservedPlain = TAR_BLOCK + manifestSize;
    const encryption = new DeferredEncryption(fileKey, reservedPlain / CHUNK_SIZE);
    const layout = await planArchive(manifestSize, mtime, members);
    const plainSize = layout.size;
    const cipherSize = encryptedSize(plainSize);

    // Checked for every storage type before anything is written to it: a backup that does not fit fails here.
    const space = await target.space();
    if (space.freeBytes < cipherSize + SPACE_MARGIN) {
      throw new AppError(
        'conflict',
        `Not enough free space on ${target.label}: the backup needs about ${formatSize(cipherSize)}, ${formatSize(space.freeBytes)} is free. Clean up the storage or choose a larger one.`,
      );
    }

    const fileName = await uniqueName(target, settings.filenamePrefix, identity.name, createdAt);
    tempName = partialName(fileName);
    phase('writing', { fileName, tempName, bytesExpected: plainSize, bytesDone: 0 });
    writer = await target.create(tempName);
    let lastProgress = 0;
    // Each member is hashed by a worker from the very bytes that are sealed (archive-writer.ts), so the manifest describes exactly what is in the file.
    const digests = await writeEncryptedArchive({
      layout,
      reader: new ArchiveReader(layout, members),
      from: reservedPlain,
      payloadKey: encryption.payloadKey(),
      payloadOffset: encryption.payloadOffset,
      writer,
      workers,
      signal,
      progress: (bytes) => {
        if (Date.now() - lastProgress < PROGRESS_EVERY_MS) return;
        lastProgress = Date.now();
        update(run.id, { bytesDone: bytes });
      },
    });
    update(run.id, { bytesDone: plainSize });
    const manifest = await signer.sign(unsigned(digests));
    const entry = await manifestEntry(padManifest(JSON.stringify(manifest, null, 2), manifestSize), mtime);
    await writer.writeAt(0, encryption.prefix(await stanza, entry));

    // Flush to stable storage and, meanwhile, read back what the target
    // stores (a read sees the same bytes before and after the flush): the
    // header MAC and every chunk must authenticate under the file key (so
    // the stored bytes are exactly those sealed above, whose members were
    // hashed from the same memory), the archive must start with the signed
    // manifest, and its length must be exactly what was written. A worker
    // hashes the stored bytes: the file's checksum. Nothing is renamed until
    // both the flush and the checks succeeded. Full verification with only
    // the DMS (fresh scrypt, every member's SHA-256) is verifyBackupFile,
    // used by verify and restore.
    phase('verifying');
    await writer.finishWrites?.();
    const committing = writer.commit();
    committing.catch(() => undefined);
    let checksum: Promise<string>;
    if (target.localPath) {
      // Local file: read once (direct I/O where possible); one worker
      // authenticates every chunk and the other hashes the file
      // (read-back.ts); the main thread checks the header MAC and the
      // manifest at the start.
      const readBack = readBackFile(workers, target.localPath(tempName), { offset: encryption.payloadOffset, key: encryption.payloadKey(), signal });
      readBack.catch(() => undefined);
      checksum = readBack.then((r) => r.sha256);
      checksum.catch(() => undefined);
      const stored = await target.read(tempName);
      try {
        await verifyReadBack(await decryptWithFileKey(stored, fileKey), (m) => signer.verify(m), { members: members.length });
      } finally {
        stored.destroy();
      }
      const { plainBytes } = await readBack;
      if (plainBytes !== plainSize) throw new AppError('conflict', `The file read back holds ${plainBytes} bytes of archive; ${plainSize} were written.`);
    } else {
      // Remote file: one read, decrypted here and hashed by a worker as it streams by.
      const stored = await target.read(tempName);
      const tap = workers.tap();
      checksum = tap.digest;
      stored.on('error', (err) => tap.stream.destroy(err));
      try {
        const plain = await decryptWithFileKey(stored.pipe(tap.stream), fileKey);
        signal.addEventListener('abort', () => plain.destroy(signal.reason as Error), { once: true });
        await verifyReadBack(plain, (m) => signer.verify(m), { plainSize, members: members.length });
      } finally {
        stored.destroy();
      }
    }
    await committing;
    writer = null;

    // Everything that can fail happens before the rename; after it, the run is a success.
    const sum = await checksum;
    const size = (await target.stat(tempName))?.size ?? null;
    phase('publishing');
    signal.throwIfAborted();
    await target.rename(tempName, fileName);
    tempName = null;
    // Verify and restore of this file on this appliance then need no scrypt (key-cache.ts).
    applianceKeyCache.files.set(dms, [await stanza], fileKey);
    await signer.rememberIn(applianceKeyCache.manifests);
    update(run.id, {
      status: 'succeeded',
      phase: 'done',
      finishedAt: new Date(),
      sizeBytes: size,
      checksum: sum,
      bytesDone: plainSize,
      manifest: runManifestSummary(manifest, members.reduce((n, m) => n + m.size, 0)),
    });
    clock.enter('done');
    log.info({ event: 'backup.succeeded', run: run.id, file: fileName, bytes: size, target: target.label, phaseMs: clock.timings }, 'backup succeeded');
    audit({ id: null, name: run.requestedBy, ip: null }, 'backup.finish', 'success', { target: fileName, detail: { run: run.id, size } });
    alertEvents.backupSucceeded(fileName, target.label);
    await applyRetention(target, settings.retention).catch((err) =>
      log.error({ event: 'backup.retention.error', err: (err as Error).message }, 'retention failed'),
    );
  } catch (err) {
    // Bookkeeping of a failure must not fail itself: each step on its own.
    const aborted = signal.aborted;
    const reason = aborted ? (signal.reason as Error | undefined)?.message : undefined;
    const message = reason || errorWords(err, run.id);
    if (writer) await writer.abort().catch(() => undefined);
    let cleaned = true;
    // The writer's abort may already have removed it: only a partial file still there and not removable counts as left.
    if (target && tempName) {
      const name = tempName;
      const t = target;
      await (async () => {
        if (await t.stat(name)) await t.remove(name);
      })().catch(() => (cleaned = false));
    }
    safely(() => update(run.id, { status: aborted ? 'aborted' : 'failed', finishedAt: new Date(), error: message, tempName: cleaned ? null : tempName }));
    log.warn({ event: aborted ? 'backup.aborted' : 'backup.failed', run: run.id, reason: message }, 'backup did not complete');
    safely(() => audit({ id: null, name: run.requestedBy, ip: null }, 'backup.finish', 'failure', { target: String(run.id), detail: { reason: message } }));
    if (!aborted) alertEvents.backupFailed(message, run.id, run.trigger === 'scheduled');
  } finally {
    // The space on the target and the folder changed: the status panel and the browser look afresh.
    forgetStorageState();
    forgetListings();
    await workers.close().catch(() => undefined);
    // The snapshot and the side files its read-only open may leave.
    for (const f of [snapshot, `${snapshot}-journal`, `${snapshot}-wal`, `${snapshot}-shm`]) await fsp.rm(f, { force: true }).catch(() => undefined);
    await target?.close().catch(() => undefined);
  }
}

function safely(step: () => void): void {
  try {
    step();
  } catch (err) {
    log.error({ event: 'backup.bookkeeping-failed', err: (err as Error).message }, 'could not record the end of a backup');
  }
}

/** Words for the history: our own errors say what happened; anything else is logged and summarised. */
function errorWords(err: unknown, runId: number): string {
  if (err instanceof AppError) return err.message;
  const e = err as Error & { code?: string };
  if (e?.name === 'AbortError') return 'The backup was stopped.';
  if (['StorageError', 'BackupVerifyError', 'ReadBackError', 'NfsError'].includes(e?.name) || e?.name?.startsWith('Age')) return e.message;
  log.error({ event: 'backup.error', run: runId, err: e?.message, stack: e?.stack }, 'unexpected backup error');
  return `The backup failed because of an internal error (details in the console log, backup #${runId}).`;
}
