import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { audit, type Actor } from '../audit/audit';
import { applianceIdentity, applianceRoot } from '../backup/appliance';
import { BackupDetailsError, clearBackupDetailsCache, readBackupDetails, type BackupDetails } from '../backup/details';
import { isDmsSet, unsealDms } from '../backup/dms';
import { forgetStorageState } from '../backup/engine';
import { runningBackup, runWithFile } from '../backup/runs';
import { BackupWorkers } from '../backup/backup-workers';
import { runManifestSummary } from '../backup/manifest';
import { verifyBackupFile } from '../backup/verify-file';
import { db, resumeDb, suspendDb } from '../db/client';
import { exclusiveOperationRefusal, isConstraintViolation } from '../db/errors';
import { restoreRuns, type RestoreRun } from '../db/schema';
import { AppError } from '../errors';
import { log } from '../log';
import { processState } from '../process-state';
import { forgetListings } from '../storage/browser';
import { getStorageConfig, openStorage, storageUrl } from '../storage/config';
import { LocalFolderTarget } from '../storage/local-folder';
import type { StorageTarget } from '../storage/types';
import { exists } from './durable-fs';
import { faultPoint } from './faults';
import { readJournal, removeJournal, writeJournal, type Journal } from './journal';
import { applianceWorkDir, liveDatabase, RESTORED_FOLDERS, restoreRoot, safetyRoot, workDir } from './paths';
import { buildPlan, type RestorePlan } from './plan';
import { claimRestore, releaseRestore } from './owner';
import { postCheck } from './post-check';
import { keepAsSafetyCopy } from './safety-copy';
import { prepareStaging, stagingSink, syncStaging } from './stage';
import { integrityOf, prepareStagedDatabase, schemaRelation, withStagedDb } from './staged-database';
import { summarizeState } from './state-summary';
import { switchBack, switchForward } from './switch';
import { applianceKeyCache, derivedKeyRows } from '../backup/key-cache';

/**
 * Restore: the dry-run (planRestore) and the restore itself (runRestore),
 * shared by the Backup page and the `webconf restore` command.
 *
 * A restore, in order:
 *   1. lock        a 'running' row in restore_runs: the database refuses a second restore, a
 *                  restore during a backup, and (triggers, drizzle/0004) any backup or any change
 *                  of settings, accounts or the DMS until the row is finished
 *   2. open        the DMS (this appliance's sealed one, or the one the admin entered) must open
 *                  the file and verify its signed manifest (details.ts: header and manifest only)
 *   3. verify+stage one full pass (verify-file.ts): every chunk authenticated, every member's
 *                  SHA-256 checked, each member written to its staged place beside the live data
 *                  (stage.ts); nothing counts until the whole file verified
 *   4. prepare     the staged database checked (schema, integrity) and made this appliance's
 *                  (staged-database.ts); blockers refuse here, before anything live changed
 *   5. switch      journal 'staged'; the console's connection closed (checkpointed: no -wal);
 *                  live items renamed aside and staged ones in, under the journal (switch.ts)
 *   6. post-check  the new database opened as every request opens it and checked (post-check.ts)
 *   7. commit      the new row succeeded, journal 'committed'; the old state becomes a safety
 *                  copy (last 3 kept); caches of the old state forgotten
 * A failure in 5 or 6 switches back; a crash anywhere is settled at the next start (recovery.ts).
 */
export type RestoreSource =
  /** A backup on the configured storage location. */
  | { kind: 'storage'; fileName: string }
  /** A local file: given to the command, uploaded, or fetched over SFTP/SCP into the incoming folder. */
  | { kind: 'file'; path: string; origin: 'file' | 'upload' | 'sftp' | 'scp'; label: string; removeAfter?: boolean; /** The file's own name where the path is a temporary one (upload-….part). */ displayName?: string };

export type RestoreProgress = {
  runId: number | null;
  phase: RestoreRun['phase'];
  bytesDone: number;
  bytesTotal: number | null;
  startedAt: string;
  fileName: string;
  finished: null | { status: RestoreRun['status']; outcome: string; at: string };
};

const progressState = processState('restore.progress', () => ({ current: null as RestoreProgress | null }));

/** The restore this process runs or ran last (the Backup page polls it; it outlives the database switch). */
export function restoreProgress(): RestoreProgress | null {
  return progressState.current ? { ...progressState.current } : null;
}

/** `name` is read from the target; `displayName` is what people see and the records keep (an upload's own name, not its temporary one). */
type Opened = { target: StorageTarget; name: string; displayName: string; label: string; origin: RestoreRun['source']; location: string | null };

function openSource(src: RestoreSource): Opened {
  if (src.kind === 'storage') {
    const target = openStorage();
    if (!target) throw new AppError('conflict', 'No backup storage location is configured: choose one, or restore from an uploaded file or a remote host.');
    return { target, name: src.fileName, displayName: src.fileName, label: `${target.label}: ${src.fileName}`, origin: 'storage', location: storageUrl(getStorageConfig()) };
  }
  const dir = path.dirname(path.resolve(src.path));
  const name = path.basename(src.path);
  return { target: new LocalFolderTarget(dir, 'local', src.label), name, displayName: src.displayName ?? name, label: src.label, origin: src.origin, location: null };
}

function refused(message: string, field?: string): AppError {
  return new AppError('unprocessable', message, field ? { field } : {});
}

type Opening = { dms: string; details: Extract<BackupDetails, { dms: 'this' }>; dmsSource: 'this appliance' | 'entered' };

/** Step 2: which DMS opens the file, and its details (header and signed manifest only). */
async function openWithDms(o: Opened, entered: string | undefined, signal?: AbortSignal): Promise<Opening> {
  let dms: string;
  let dmsSource: Opening['dmsSource'];
  if (entered) {
    dms = entered;
    dmsSource = 'entered';
  } else if (isDmsSet()) {
    dms = unsealDms();
    dmsSource = 'this appliance';
  } else {
    throw refused('This appliance has no Domain Master Secret yet: enter the one the backup was made with.', 'dms');
  }
  let details: BackupDetails;
  try {
    details = await readBackupDetails(o.target, o.name, dms, { signal, keyCache: applianceKeyCache });
  } catch (err) {
    if (err instanceof BackupDetailsError) throw new AppError(err.code === 'not_found' ? 'not_found' : 'unprocessable', `${err.message} Nothing was changed.`);
    throw err;
  }
  if (details.dms === 'other') {
    throw refused(
      dmsSource === 'entered'
        ? 'The Domain Master Secret you entered does not open this backup. Nothing was changed.'
        : 'This backup was made with another Domain Master Secret: enter that secret to restore it. Nothing was changed.',
      'dms',
    );
  }
  if (details.signature !== 'verified') throw refused('The backup\'s manifest does not match its signature: the file was altered. It cannot be restored; nothing was changed.');
  return { dms, details, dmsSource };
}

/** What the history keeps of a run's manifest (engine.ts), as far as it binds a file to the run. */
const recordedManifestSchema = z.object({ createdAt: z.string(), appliance: z.object({ id: z.string() }) });

/**
 * The stored file's SHA-256 as the backup history recorded it when the run wrote the file
 * and read it back, if this file is that run's: on the configured storage the run wrote
 * to, the same name and size, and a signed manifest naming the same appliance and creation
 * time. Then the verification need not hash the file again (verify-local.ts). Otherwise
 * (an upload, a file fetched over SSH, a backup from elsewhere) it computes the checksum.
 */
function recordedChecksum(src: RestoreSource, o: Opened, d: Opening['details']): string | undefined {
  if (src.kind !== 'storage') return undefined;
  const run = runWithFile(o.name, d.sizeBytes);
  if (!run?.checksum || run.prunedAt || run.target !== o.target.label || !run.manifest) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(run.manifest);
  } catch {
    return undefined;
  }
  const recorded = recordedManifestSchema.safeParse(raw);
  if (!recorded.success || recorded.data.createdAt !== d.createdAt || recorded.data.appliance.id !== d.appliance.id) return undefined;
  return run.checksum;
}

function verifyFailure(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const message = (err as Error).message.replace(/\.$/, '');
  return refused(`The backup failed verification: ${message}. Nothing was changed.`);
}

function folderFacts(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  const walk = (d: string) => {
    for (const e of exists(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        files++;
        bytes += fs.statSync(p).size;
      }
    }
  };
  walk(dir);
  return { files, bytes };
}

function busyReason(): string | null {
  const backup = runningBackup();
  if (backup) return `A backup is in progress (started by ${backup.requestedBy} at ${backup.startedAt.toISOString()}). Wait until it has finished, then restore.`;
  const other = db().select().from(restoreRuns).where(eq(restoreRuns.status, 'running')).get();
  if (other) return `Another restore is in progress (started by ${other.requestedBy} at ${other.startedAt.toISOString()}).`;
  return null;
}

function makePlan(o: Opened, opening: Opening, checksum: string, stagedDb: string, opts: { busy: string | null }): RestorePlan {
  const here = applianceIdentity();
  const schema = schemaRelation(stagedDb);
  const after = schema.relation === 'newer' ? null : withStagedDb(stagedDb, (d) => summarizeState(d));
  return buildPlan({
    details: { ...opening.details, fileName: o.displayName },
    source: o.label,
    checksum,
    dmsSource: opening.dmsSource,
    here: { applianceId: here.id, applianceName: here.name, firmwareVersion: here.firmwareVersion, dmsSet: isDmsSet() },
    schema,
    now: summarizeState(db()),
    after,
    live: { firmware: folderFacts(path.join(applianceRoot(), 'firmware')), system: folderFacts(path.join(applianceRoot(), 'system')) },
    busy: opts.busy,
  });
}

export type RestoreOptions = {
  source: RestoreSource;
  /** The DMS the admin typed (another appliance, after a factory reset); otherwise this appliance's sealed one. */
  dms?: string;
  actor: Actor;
  signal?: AbortSignal;
};

function newId(): string {
  return `${Date.now().toString(36)}-${crypto.randomBytes(3).toString('hex')}`;
}

/**
 * The dry-run: everything a restore checks, and what it would change, with
 * nothing changed (the backup's database is read from a temporary copy in
 * the restore folder, removed at the end).
 */
export async function planRestore(opts: RestoreOptions): Promise<RestorePlan> {
  const o = openSource(opts.source);
  const id = `dry-${newId()}`;
  const dir = workDir(id);
  let workers: BackupWorkers | undefined;
  try {
    // Started while the details are read (a local file is verified on worker threads).
    if (o.target.localPath) workers = new BackupWorkers(2);
    const opening = await openWithDms(o, opts.dms, opts.signal);
    const dbFile = path.join(dir, 'webconf.db');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    let checksum: string;
    try {
      const { sink } = stagingSink({ applianceNew: path.join(dir, 'unused'), database: dbFile }, { faults: false });
      const verified = await verifyBackupFile(o.target, o.name, opening.dms, {
        keyCache: applianceKeyCache,
        signal: opts.signal,
        workers,
        recordedChecksum: recordedChecksum(opts.source, o, opening.details),
        sink: async (m) => (m.kind === 'database' ? sink(m) : null),
      });
      checksum = verified.checksum;
    } catch (err) {
      throw verifyFailure(err);
    }
    if (!exists(dbFile)) throw refused('The backup holds no internal database. It cannot be restored.');
    const plan = makePlan(o, opening, checksum, dbFile, { busy: busyReason() });
    audit(opts.actor, 'backup.restore.dry-run', 'success', { target: o.label, detail: { blockers: plan.blockers.length } });
    return plan;
  } catch (err) {
    audit(opts.actor, 'backup.restore.dry-run', 'failure', { target: o.label, detail: { reason: (err as Error).message } });
    throw err;
  } finally {
    await workers?.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
    removeIfEmpty(restoreRoot());
    await o.target.close().catch(() => undefined);
  }
}

export type RestoreResult = { status: 'succeeded'; plan: RestorePlan; outcome: string; safetyCopy: string };

function lock(o: Opened, actor: Actor): number {
  try {
    return db()
      .insert(restoreRuns)
      .values({ status: 'running', phase: 'verifying', source: o.origin, sourceLabel: o.label, fileName: o.displayName, requestedBy: actor.name, startedAt: new Date() })
      .returning({ id: restoreRuns.id })
      .get().id;
  } catch (err) {
    const busy = exclusiveOperationRefusal(err) === 'backup' || isConstraintViolation(err, 'UNIQUE') ? busyReason() : null;
    if (busy) {
      audit(actor, 'backup.restore', 'denied', { target: o.label, detail: { reason: busy } });
      throw new AppError('conflict', `${busy} Nothing was changed.`);
    }
    throw err;
  }
}

function setPhase(rowId: number, phase: RestoreRun['phase']): void {
  db().update(restoreRuns).set({ phase }).where(eq(restoreRuns.id, rowId)).run();
  if (progressState.current) progressState.current.phase = phase;
}

/** Forgets what this process kept about the state that was replaced. */
function restartConsoleState(): void {
  forgetStorageState();
  clearBackupDetailsCache();
  forgetListings();
}

/**
 * The restore. Resolves once the new state is committed; rejects with an
 * AppError in words when it was refused (nothing changed) or failed and was
 * switched back (the old state is the state).
 */
export async function runRestore(opts: RestoreOptions & { confirm: string; onLocked?: (rowId: number) => void }): Promise<RestoreResult> {
  const here = applianceIdentity();
  if (opts.confirm.trim() !== here.name) {
    throw refused(`Type the appliance name, ${here.name}, to confirm the restore.`, 'confirm');
  }
  const o = openSource(opts.source);
  const startedAt = new Date();
  const rowId = lock(o, opts.actor);
  claimRestore();
  progressState.current = { runId: rowId, phase: 'verifying', bytesDone: 0, bytesTotal: null, startedAt: startedAt.toISOString(), fileName: o.displayName, finished: null };
  opts.onLocked?.(rowId);
  const id = newId();
  const work = workDir(id);
  const appWork = applianceWorkDir(id);
  const dirs = { applianceNew: path.join(appWork, 'new'), database: path.join(work, 'webconf.db') };
  let journal: Journal | null = null;
  let switched = false;
  let workers: BackupWorkers | undefined;
  const finishOld = (status: RestoreRun['status'], outcome: string, error: string | null) => {
    db().update(restoreRuns).set({ status, phase: 'done', finishedAt: new Date(), outcome, error }).where(eq(restoreRuns.id, rowId)).run();
    if (progressState.current) progressState.current.finished = { status, outcome, at: new Date().toISOString() };
  };
  try {
    // Started while the details are read (a local file is verified on worker threads).
    if (o.target.localPath) workers = new BackupWorkers(2);
    const opening = await openWithDms(o, opts.dms, opts.signal);
    progressState.current.bytesTotal = opening.details.sizeBytes;
    prepareStaging(dirs);
    const { sink } = stagingSink(dirs);
    let checksum: string;
    let summary: string;
    try {
      const verified = await verifyBackupFile(o.target, o.name, opening.dms, {
        keyCache: applianceKeyCache,
        signal: opts.signal,
        workers,
        recordedChecksum: recordedChecksum(opts.source, o, opening.details),
        sink: async (m) => {
          faultPoint('verify');
          return sink(m);
        },
        onProgress: (done, total) => {
          if (progressState.current) Object.assign(progressState.current, { bytesDone: done, bytesTotal: total });
        },
      });
      checksum = verified.checksum;
      summary = runManifestSummary(verified.manifest, verified.bytes);
    } catch (err) {
      throw verifyFailure(err);
    } finally {
      await workers?.close().catch(() => undefined);
      workers = undefined;
    }
    faultPoint('verified');
    setPhase(rowId, 'staging');
    if (!exists(dirs.database)) throw refused('The backup holds no internal database. It cannot be restored.');
    const integrity = integrityOf(dirs.database);
    if (integrity !== 'ok') throw refused(`The backup's database fails its integrity check (${integrity}). It cannot be restored; nothing was changed.`);
    const plan = makePlan(o, opening, checksum, dirs.database, { busy: null });
    if (plan.blockers.length) throw refused(`${plan.blockers.join(' ')} Nothing was changed.`);
    faultPoint('planned');

    const prepared = prepareStagedDatabase(dirs.database, {
      dms: opening.dms,
      applianceId: here.id,
      derivedKeys: derivedKeyRows(),
      restored: { fileName: o.displayName, sizeBytes: opening.details.sizeBytes, checksum, location: o.location, manifest: summary },
      row: {
        status: 'running',
        phase: 'switching',
        source: o.origin,
        sourceLabel: o.label,
        fileName: o.displayName,
        requestedBy: opts.actor.name,
        startedAt,
        finishedAt: null,
        plan: JSON.stringify(plan),
        outcome: null,
        error: null,
      },
    });
    syncStaging(dirs);
    faultPoint('staged');

    const safety = path.join(safetyRoot(), `${startedAt.toISOString().replace(/[:.]/g, '')}-${id}`);
    journal = {
      version: 1,
      id,
      phase: 'staged',
      at: new Date().toISOString(),
      fileName: o.displayName,
      sourceLabel: o.label,
      requestedBy: opts.actor.name,
      oldRowId: rowId,
      newRowId: prepared.newRowId,
      safety,
      items: [
        { live: liveDatabase(), staged: dirs.database, aside: path.join(work, 'old', 'webconf.db'), hadLive: true },
        ...RESTORED_FOLDERS.map((f) => ({
          live: path.join(applianceRoot(), f),
          staged: path.join(dirs.applianceNew, f),
          aside: path.join(appWork, 'old', f),
          hadLive: exists(path.join(applianceRoot(), f)),
        })),
      ],
    };
    writeJournal(journal);
    faultPoint('journal-staged');
    setPhase(rowId, 'switching');

    // From here the live state changes: every failure switches back.
    suspendDb('A restore is switching the console to the restored state.');
    switched = true;
    faultPoint('suspended');
    journal = switchForward(journal);
    resumeDb();
    faultPoint('reopened');
    if (progressState.current) progressState.current.phase = 'post-check';
    const problems = await postCheck(opening.dms);
    if (problems.length) throw new AppError('internal', `The restored state did not pass its check (${problems.join('; ')}).`);
    faultPoint('post-checked');

    const outcome =
      `Restored ${o.displayName} (made ${opening.details.createdAt} on ${opening.details.appliance.name}) from ${o.label}.` +
      (prepared.oidcCleared ? ' The OpenID Connect client secret was sealed by another appliance: enter it again on Sign-in settings.' : '') +
      ' Restore by hand what is never in a backup: HSM contents, and the data of external databases.';
    db().update(restoreRuns).set({ status: 'succeeded', phase: 'done', finishedAt: new Date(), outcome }).where(eq(restoreRuns.id, prepared.newRowId)).run();
    audit(opts.actor, 'backup.restore', 'success', {
      target: o.label,
      detail: { file: o.displayName, createdAt: opening.details.createdAt, appliance: opening.details.appliance.name, dms: opening.dmsSource, oidcCleared: prepared.oidcCleared },
    });
    faultPoint('recorded');
    journal = { ...journal, phase: 'committed' };
    writeJournal(journal);
    faultPoint('committed');
    finishCommitted(journal);
    restartConsoleState();
    progressState.current = { ...progressState.current!, runId: prepared.newRowId, phase: 'done', finished: { status: 'succeeded', outcome, at: new Date().toISOString() } };
    log.info({ event: 'restore.done', file: o.displayName, source: o.label }, 'restore committed');
    return { status: 'succeeded', plan, outcome, safetyCopy: safety };
  } catch (err) {
    const reason = err instanceof AppError ? err.message : 'an unexpected fault (logged)';
    if (!(err instanceof AppError)) log.error({ event: 'restore.error', err: (err as Error).message, stack: (err as Error).stack }, 'restore failed');
    if (switched && journal) {
      // Back to the state before the restore, whatever step failed.
      try {
        suspendDb('A restore is switching the console back to the state before it.');
      } catch {
        // the new database may not have opened at all
      }
      switchBack(journal);
      removeJournal();
      resumeDb();
      const outcome = `The restore of ${o.displayName} failed and was switched back: the console has the state from before the restore. Why: ${reason}`;
      finishOld('rolled_back', outcome, reason);
      audit(opts.actor, 'backup.restore', 'failure', { target: o.label, detail: { reason, rolledBack: true } });
      cleanupWork(id);
      restartConsoleState();
      throw new AppError('internal', outcome);
    }
    if (journal) removeJournal();
    cleanupWork(id);
    // Refused before anything live changed: the lock row goes, the audit trail keeps the refusal.
    db().delete(restoreRuns).where(eq(restoreRuns.id, rowId)).run();
    if (progressState.current) progressState.current.finished = { status: 'failed', outcome: reason, at: new Date().toISOString() };
    audit(opts.actor, 'backup.restore', err instanceof AppError && err.code !== 'internal' ? 'denied' : 'failure', { target: o.label, detail: { reason } });
    throw err instanceof AppError ? err : new AppError('internal', `The restore failed: ${reason}. Nothing was changed.`);
  } finally {
    await workers?.close().catch(() => undefined);
    releaseRestore();
    removeIfEmpty(restoreRoot());
    await o.target.close().catch(() => undefined);
    if (opts.source.kind === 'file' && opts.source.removeAfter) {
      fs.rmSync(opts.source.path, { force: true });
      fs.rmSync(`${opts.source.path}.json`, { force: true });
    }
  }
}

function cleanupWork(id: string): void {
  fs.rmSync(workDir(id), { recursive: true, force: true });
  fs.rmSync(applianceWorkDir(id), { recursive: true, force: true });
  removeIfEmpty(restoreRoot());
}

/** A refused restore leaves the data folder as it found it: not even an empty restore folder. */
function removeIfEmpty(dir: string): void {
  try {
    fs.rmdirSync(dir);
  } catch {
    // not empty, or not there
  }
}

/** After the commit: the old state becomes a safety copy, the work folders and the journal go. */
export function finishCommitted(j: Journal): void {
  keepAsSafetyCopy(
    j.items.map((item) => ({ aside: item.aside, name: path.basename(item.live) })),
    j.safety,
  );
  cleanupWork(j.id);
  removeJournal();
}

export { readJournal };
