import { Writable } from 'node:stream';
import { and, eq, isNull } from 'drizzle-orm';
import { alertEvents } from '../alerts/events';
import { audit, type Actor } from '../audit/audit';
import { readBackupDetails } from '../backup/details';
import { isDmsSet, unsealDms } from '../backup/dms';
import { getBackupRun, runningBackup } from '../backup/runs';
import { verifyBackupFile } from '../backup/verify-file';
import { db } from '../db/client';
import { backupRuns, backupVerifications, type BackupRun, type BackupVerification } from '../db/schema';
import { AppError } from '../errors';
import { log } from '../log';
import { checkBrowsableFile, resolveLocation } from '../storage/browser';
import { getStorageConfig, openStorage, storageUrl } from '../storage/config';
import { formatSize } from '../storage/format-size';
import { locationUrl } from '../storage/location';
import { unsafeSegmentReason } from '../storage/paths';
import { storageRefusal } from '../storage/refusal';
import type { StorageTarget } from '../storage/types';
import { DatabaseCopy } from './database-copy';
import { canonicalFolderUrl, configuredLocation, splitFileUrl } from './locations';
import { registry, waitForVerification, type RunningSlot } from './registry';
import type { VerificationResult, VerifyLevel } from './schemas';
import { applianceKeyCache } from '../backup/key-cache';

/**
 * Verifying a backup file where it is stored, with nothing but the DMS, as
 * any appliance would. Nothing is changed on the target; the only
 * plaintext written anywhere is the database member's temporary copy
 * (database-copy.ts), removed when the verification ends.
 *
 *   Quick  the age header (the DMS unwraps the file key; the header MAC),
 *          the signed manifest, the file's exact length (the size of the
 *          age file of the archive the manifest describes), and its last
 *          chunk authenticated as the last: the header, the manifest's
 *          chunks and the last chunk are read (readBackupDetails), a few
 *          hundred KiB whatever the file's size. Damage between the
 *          manifest and the last chunk is not seen.
 *   Full   the quick checks, then the whole file: every chunk
 *          authenticated, every member's size and SHA-256 against the
 *          manifest (verifyBackupFile), the file's SHA-256 against the one
 *          the backup history recorded when it was written (when it did),
 *          and the database member checked by SQLite (PRAGMA
 *          integrity_check) on a temporary read-only copy.
 *
 * Each verification is a row of backup_verifications: 'running' while it
 * runs (its progress in memory, registry.ts), then 'passed' or 'failed'
 * with the reason in words and what was checked (result JSON). One runs at
 * a time per process; a full one does not start while a backup runs. A
 * verification that is stopped (shutdown, a backup starting during a
 * scheduled one) is 'failed' with result.interrupted: it has no verdict
 * on the file. Every start and end is audited.
 */

export type VerifyRequest = {
  /** The file's name in its folder (one path segment). */
  fileName: string;
  /** The folder's URL (nfs://, usb://, file://); without it, the configured storage location. */
  location?: string;
  /** The run that wrote the file, when the caller knows it (history). */
  backupRunId?: number;
  level: VerifyLevel;
  trigger: BackupVerification['trigger'];
  actor: Actor;
  signal?: AbortSignal;
};

/** A check that found the file wanting: its message is the reason, in words. */
class VerifyFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerifyFailure';
  }
}

const STOPPED = 'The verification was stopped before it finished.';

/** Where the file is, opened. */
type Source = {
  target: StorageTarget;
  /** The file's name relative to the target's root. */
  name: string;
  location: string;
  label: string;
  run: BackupRun | null;
};

/** The run of the configured storage that wrote this file and whose file is still there, if any. */
function keptRunWithFile(label: string, fileName: string): BackupRun | null {
  return (
    db()
      .select()
      .from(backupRuns)
      .where(and(eq(backupRuns.status, 'succeeded'), eq(backupRuns.target, label), eq(backupRuns.fileName, fileName), isNull(backupRuns.prunedAt)))
      .get() ?? null
  );
}

async function openSource(req: VerifyRequest): Promise<Source> {
  if (!req.location) {
    const config = getStorageConfig();
    const target = openStorage(config);
    if (!target) throw new AppError('conflict', 'Choose a backup storage location first.');
    const run = req.backupRunId ? (getBackupRun(req.backupRunId) ?? null) : keptRunWithFile(target.label, req.fileName);
    return { target, name: req.fileName, location: canonicalFolderUrl(storageUrl(config)!), label: target.label, run };
  }
  const r = await resolveLocation(req.location);
  const target = r.open();
  try {
    const parts = [...r.loc.parts, req.fileName];
    // The storage browser's rules: a folder inside the location (symbolic links resolved), never the data folder; a regular file.
    await checkBrowsableFile(target, parts);
    const location = locationUrl(r.loc);
    const configured = configuredLocation();
    const run = configured && configured.url === location ? keptRunWithFile(configured.label, req.fileName) : null;
    return { target, name: parts.join('/'), location, label: target.label, run };
  } catch (err) {
    await target.close().catch(() => undefined);
    throw err;
  }
}

function describe(slot: RunningSlot): string {
  const who = slot.trigger === 'scheduled' ? 'the scheduled verifier' : slot.requestedBy;
  return `a ${slot.level} verification of ${slot.fileName} (started by ${who} at ${new Date(slot.startedAt).toISOString()})`;
}

/**
 * Starts verifying a file and returns its record at once ('running'); the
 * verification goes on in the background (waitForVerification). Refuses in
 * words (AppError), and records nothing, when another verification runs,
 * a full one is asked while a backup runs, the DMS or the storage is
 * missing, or a manually named file is not there.
 */
export async function startVerification(req: VerifyRequest): Promise<BackupVerification> {
  const { actor, level, trigger } = req;
  const refuse = (code: 'conflict' | 'not_found' | 'unprocessable', message: string): never => {
    audit(actor, 'backup.verify.start', 'failure', { target: req.fileName, detail: { level, trigger, reason: message } });
    throw new AppError(code, message);
  };
  const bad = unsafeSegmentReason(req.fileName);
  if (bad) refuse('unprocessable', `The file name is not valid: ${bad}.`);
  const reg = registry();
  if (reg.current) refuse('conflict', `Another verification is running: ${describe(reg.current)}. Verify this backup once it has finished.`);
  // Taken before anything is awaited: two requests at once cannot both pass the check above.
  const slot: RunningSlot = { id: null, fileName: req.fileName, level, trigger, requestedBy: actor.name, startedAt: Date.now() };
  reg.current = slot;
  let source: Source | null = null;
  let row: BackupVerification;
  let dms: string;
  try {
    if (!isDmsSet()) refuse('conflict', 'Set the Domain Master Secret first: backups are verified with it.');
    if (level === 'full' && runningBackup()) {
      refuse('conflict', 'A backup is in progress. Start a full verification once it has finished (a quick one can run now).');
    }
    source = await storageRefusal(() => openSource(req));
    const src = source;
    // A file named by a person must be there; the scheduler's runs are recorded as failed when their file has gone.
    if (trigger === 'manual') {
      const entry = await storageRefusal(() => src.target.stat(src.name));
      if (!entry) refuse('not_found', `${req.fileName} is not on ${src.label}.`);
      if (entry!.type !== 'file') refuse('unprocessable', `${req.fileName} is not a file: it cannot be a backup.`);
    }
    dms = unsealDms();
    row = db()
      .insert(backupVerifications)
      .values({
        backupRunId: source.run?.id ?? null,
        location: source.location,
        fileName: req.fileName,
        level,
        trigger,
        requestedBy: actor.name,
        status: 'running',
        startedAt: new Date(),
      })
      .returning()
      .get();
  } catch (err) {
    reg.current = null;
    await source?.target.close().catch(() => undefined);
    if (err instanceof AppError) throw err;
    // An AppError from another copy of the module (storage refusals), or a fault: refused in words, logged.
    if ((err as Error)?.name === 'AppError') throw new AppError(((err as AppError).code ?? 'conflict') as 'conflict', (err as Error).message);
    throw err;
  }
  slot.id = row.id;
  audit(actor, 'backup.verify.start', 'success', { target: req.fileName, detail: { verification: row.id, level, trigger, location: source.location } });
  const controller = new AbortController();
  const signal = req.signal ? AbortSignal.any([controller.signal, req.signal]) : controller.signal;
  reg.controllers.set(row.id, controller);
  reg.progress.set(row.id, { phase: 'reading', bytesDone: 0, bytesTotal: null });
  const done = execute(row, source, dms, signal)
    .catch((err) => log.error({ event: 'verify.bookkeeping-failed', verification: row.id, err: (err as Error).message }, 'verification ended without its record'))
    .finally(() => {
      reg.controllers.delete(row.id);
      reg.progress.delete(row.id);
      reg.done.delete(row.id);
      if (reg.current === slot) reg.current = null;
    });
  reg.done.set(row.id, done);
  return row;
}

/** Verifies a file and resolves with its final record (passed or failed). */
export async function verifyStoredBackup(req: VerifyRequest): Promise<BackupVerification> {
  const row = await startVerification(req);
  await waitForVerification(row.id);
  return db().select().from(backupVerifications).where(eq(backupVerifications.id, row.id)).get()!;
}

/** A backup of the history: its file on the configured storage, if it is still there. */
export async function startVerificationOfRun(runId: number, level: VerifyLevel, actor: Actor): Promise<BackupVerification> {
  const run = getBackupRun(runId);
  if (!run) throw new AppError('not_found', `There is no backup #${runId}.`);
  if (run.status !== 'succeeded' || !run.fileName) throw new AppError('unprocessable', `Backup #${runId} did not produce a file (${run.status}): there is nothing to verify.`);
  if (run.prunedAt) throw new AppError('not_found', `The file of backup #${runId} (${run.fileName}) was removed by retention.`);
  const configured = configuredLocation();
  if (!configured || configured.label !== run.target) {
    throw new AppError('not_found', `Backup #${runId} was written to ${run.target ?? 'another location'}, which is not the storage location configured now.`);
  }
  return startVerification({ fileName: run.fileName, backupRunId: run.id, level, trigger: 'manual', actor });
}

/** A file in a storage location, by the URL the storage browser names it with. */
export async function startVerificationAt(url: string, level: VerifyLevel, actor: Actor): Promise<BackupVerification> {
  const { folder, fileName } = splitFileUrl(url);
  return startVerification({ fileName, location: folder, level, trigger: 'manual', actor });
}

/** A stream that only counts what passes (a member the verification hashes but does not keep). */
function counter(count: (n: number) => void): Writable {
  return new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      count(chunk.length);
      cb();
    },
  });
}

const sentence = (s: string) => (/[.!?]$/.test(s.trim()) ? s.trim() : `${s.trim()}.`);

/** Words for the record: the checks' own findings as they are; a storage fault as what could not be read; anything else logged and summarised. */
function failureWords(err: unknown, id: number): string {
  const e = err as Error & { code?: string };
  if (e instanceof VerifyFailure || e?.name === 'AppError' || e?.name === 'BackupDetailsError') return sentence(e.message);
  if (e?.name === 'BackupVerifyError' || e?.name?.startsWith('Age')) return sentence(e.message);
  if (e?.name === 'StorageError' || e?.name === 'NfsError') return sentence(`The file could not be read: ${e.message}`);
  log.error({ event: 'verify.error', verification: id, err: e?.message, stack: e?.stack }, 'unexpected verification error');
  return `The verification could not be completed because of an internal error (details in the console log, verification #${id}).`;
}

async function execute(row: BackupVerification, source: Source, dms: string, signal: AbortSignal): Promise<void> {
  const began = performance.now();
  const progress = registry().progress.get(row.id)!;
  const result: VerificationResult = { level: row.level, passed: [] };
  const { target, name } = source;
  const copy: { file: DatabaseCopy | null; error: Error | null } = { file: null, error: null };
  let outcome: { status: 'passed' | 'failed'; error: string | null };
  try {
    // ── Quick: header, signed manifest, exact length, last chunk ──
    const d = await readBackupDetails(target, name, dms, { signal, fresh: true, checkEnd: true, keyCache: applianceKeyCache });
    result.sizeBytes = d.sizeBytes;
    if (d.dms === 'other') {
      throw new VerifyFailure('It was made with another Domain Master Secret (or its encryption header is damaged): this appliance cannot open it.');
    }
    Object.assign(result, {
      expectedSizeBytes: d.expectedSizeBytes,
      createdAt: d.createdAt,
      appliance: d.appliance.name,
      members: d.contents.members,
      dataBytes: d.contents.dataBytes,
    });
    result.passed.push('header');
    if (d.signature !== 'verified') {
      throw new VerifyFailure("Its manifest's signature does not verify with this appliance's Domain Master Secret: the manifest was changed after it was signed.");
    }
    result.passed.push('signature');
    if (d.sizeBytes !== d.expectedSizeBytes) {
      const diff = d.sizeBytes < d.expectedSizeBytes ? `${formatSize(d.expectedSizeBytes - d.sizeBytes)} short: it was cut off` : `${formatSize(d.sizeBytes - d.expectedSizeBytes)} too long: data was added to it`;
      throw new VerifyFailure(`The file has ${d.sizeBytes} bytes; its manifest describes a file of ${d.expectedSizeBytes} bytes (${diff}).`);
    }
    result.passed.push('length', 'end');

    if (row.level === 'full') {
      // ── Full: every chunk, every member's SHA-256, the checksum, the database ──
      Object.assign(progress, { phase: 'decrypting', bytesDone: 0, bytesTotal: d.contents.dataBytes });
      const count = (n: number) => {
        progress.bytesDone += n;
      };
      const verified = await verifyBackupFile(target, name, dms, {
        keyCache: applianceKeyCache,
        signal,
        sink: async (member) => {
          if (member.kind !== 'database') return counter(count);
          try {
            copy.file = await DatabaseCopy.create(row.id);
          } catch (err) {
            // The console's own disk, not the backup: told as such below, after the member's hash was checked.
            copy.error = err as Error;
            return counter(count);
          }
          return copy.file.writable(count, (err) => (copy.error ??= err));
        },
      });
      result.passed.push('chunks', 'members');
      result.membersVerified = verified.membersVerified;
      result.bytesVerified = verified.bytes;
      result.checksum = verified.checksum;
      const recorded = source.run?.checksum ?? null;
      result.checksumMatchesHistory = recorded ? recorded === verified.checksum : null;
      if (recorded && recorded !== verified.checksum) {
        throw new VerifyFailure(
          `Its SHA-256 is not the one recorded when backup #${source.run!.id} wrote it (sha256 ${verified.checksum.slice(0, 16)}…, recorded ${recorded.slice(0, 16)}…): the file was replaced by another one.`,
        );
      }
      if (recorded) result.passed.push('checksum');
      if (copy.error) {
        const why = (copy.error as NodeJS.ErrnoException).code === 'ENOSPC' ? 'the data folder is full' : ((copy.error as NodeJS.ErrnoException).code ?? copy.error.message);
        throw new VerifyFailure(`Its internal database could not be checked: the console could not write a temporary copy of it (${why}). Free space in the console's data folder and verify again.`);
      }
      if (copy.file) {
        progress.phase = 'database';
        const integrity = await copy.file.check(signal);
        result.databaseIntegrity = integrity.result;
        if (!integrity.ok) throw new VerifyFailure(`Its internal database is damaged: SQLite's integrity check says "${integrity.result.slice(0, 300)}".`);
        result.passed.push('database');
      } else if (verified.manifest.contents.internalDatabase) {
        throw new VerifyFailure('Its manifest says it holds the internal database, but no database member was found.');
      }
    }
    outcome = { status: 'passed', error: null };
  } catch (err) {
    const interrupted = signal.aborted;
    if (interrupted) result.interrupted = true;
    outcome = { status: 'failed', error: interrupted ? sentence((signal.reason as Error | undefined)?.message || STOPPED) : failureWords(err, row.id) };
  }
  // The plaintext copy goes before the record is final: whoever reads 'passed' or 'failed' finds no copy left.
  await copy.file?.remove().catch((err) => log.error({ event: 'verify.copy-not-removed', verification: row.id, err: (err as Error).message }, 'could not remove the database copy'));
  await target.close().catch(() => undefined);
  result.durationMs = Math.round(performance.now() - began);
  const { status, error } = outcome;
  safely(() => db().update(backupVerifications).set({ status, finishedAt: new Date(), result: JSON.stringify(result), error }).where(eq(backupVerifications.id, row.id)).run());
  // An interrupted verification has no verdict on the file: no alert either way.
  if (status === 'passed') alertEvents.verifyPassed(row.fileName);
  else if (!result.interrupted) alertEvents.verifyFailed(row.fileName, error);
  if (status === 'passed') log.info({ event: 'verify.passed', verification: row.id, file: row.fileName, level: row.level, ms: result.durationMs }, 'verification passed');
  else log.warn({ event: result.interrupted ? 'verify.interrupted' : 'verify.failed', verification: row.id, file: row.fileName, level: row.level, reason: error }, 'verification did not pass');
  safely(() =>
    audit({ id: null, name: row.requestedBy, ip: null }, 'backup.verify.finish', status === 'passed' ? 'success' : 'failure', {
      target: row.fileName,
      detail: status === 'passed' ? { verification: row.id, level: row.level } : { verification: row.id, level: row.level, interrupted: result.interrupted === true, reason: error },
    }),
  );
}

function safely(step: () => void): void {
  try {
    step();
  } catch (err) {
    log.error({ event: 'verify.bookkeeping-failed', err: (err as Error).message }, 'could not record the end of a verification');
  }
}
