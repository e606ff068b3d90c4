import path from 'node:path';
import { AppError } from '../errors';
import { checkBrowsableFile, withLocation } from '../storage/browser';
import { parseLocationUrl } from '../storage/location';
import { getStorageConfig, openStorage, storageUrl } from '../storage/config';
import { BackupDetailsError, readBackupDetails, type BackupDetails } from './details';
import { isDmsSet, unsealDms } from './dms';
import { getBackupRun, runWithFile } from './runs';
import { applianceKeyCache } from './key-cache';

/**
 * Backup Details as the console shows them: what the file's header and
 * signed manifest say (details.ts), and what the backup history recorded
 * when this console wrote it: the checksum of the whole file (SHA-256 of
 * the stored bytes, computed when it was read back after writing; details
 * never read the whole file) and the run.
 */
export type BackupDetailsView = BackupDetails & {
  url: string | null;
  checksum: string | null;
  runId: number | null;
  /** True when this console wrote the file and read it back after writing. */
  verifiedAfterWriting: boolean;
};

function words(err: unknown): never {
  if (err instanceof BackupDetailsError) throw new AppError(err.code === 'not_found' ? 'not_found' : 'unprocessable', err.message);
  throw err;
}

function withHistory(d: BackupDetails, url: string | null): BackupDetailsView {
  const run = runWithFile(d.fileName, d.sizeBytes);
  return { ...d, url, checksum: run?.checksum ?? null, runId: run?.id ?? null, verifiedAfterWriting: Boolean(run) };
}

function dms(): string {
  if (!isDmsSet()) throw new AppError('conflict', 'Set the Domain Master Secret first: backup details are read with it.');
  return unsealDms();
}

/** Details of the file a storage browser URL names (nfs://, usb://, file://). */
export async function backupDetailsAt(url: string): Promise<BackupDetailsView> {
  const loc = parseLocationUrl(url);
  if (!loc.parts.length) throw new AppError('unprocessable', 'Name a backup file, not the root of the location.');
  const secret = dms();
  return withLocation(url, async (target) => {
    // The same rules as the browser: a folder inside the location (symbolic links resolved), never the data folder; a regular file.
    await checkBrowsableFile(target, loc.parts);
    return withHistory(await readBackupDetails(target, loc.parts.join('/'), secret, { keyCache: applianceKeyCache }).catch(words), url);
  });
}

/** Details of a run from the Backup History: its file on the configured storage, if it is still there. */
export async function backupDetailsOfRun(id: number): Promise<BackupDetailsView> {
  const run = getBackupRun(id);
  if (!run) throw new AppError('not_found', `There is no backup #${id}.`);
  if (run.status !== 'succeeded' || !run.fileName) throw new AppError('unprocessable', `Backup #${id} did not produce a file (${run.status}${run.error ? `: ${run.error}` : ''}).`);
  if (run.prunedAt) throw new AppError('not_found', `The file of backup #${id} (${run.fileName}) was removed by retention.`);
  const target = openStorage();
  if (!target || target.label !== run.target) {
    throw new AppError('not_found', `Backup #${id} was written to ${run.target ?? 'another location'}, which is not the storage location configured now.`);
  }
  const secret = dms();
  const base = storageUrl(getStorageConfig());
  try {
    const d = await readBackupDetails(target, run.fileName, secret, { keyCache: applianceKeyCache }).catch(words);
    return withHistory(d, base ? `${base.replace(/\/?(\?|$)/, `/${encodeURIComponent(path.posix.basename(run.fileName))}$1`)}` : null);
  } finally {
    await target.close().catch(() => undefined);
  }
}
