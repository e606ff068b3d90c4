import { AppError } from '../errors';
import { resolveLocation } from '../storage/browser';
import { getStorageConfig, openStorage, storageUrl } from '../storage/config';
import { locationUrl, parseLocationUrl } from '../storage/location';

/**
 * Where a verified file is, as recorded in backup_verifications.location:
 * the URL of its folder in one spelling (locationUrl: nfs://server/path?version=…,
 * usb://<UUID>/folder, file:///path), so that the configured storage and the
 * storage browser name the same folder the same way, and the file's name
 * in that folder.
 */
export function canonicalFolderUrl(url: string): string {
  try {
    return locationUrl(parseLocationUrl(url));
  } catch {
    return url;
  }
}

/** The configured storage location: its folder URL and the label its runs record (backup_runs.target), or null for None. */
export function configuredLocation(): { url: string; label: string } | null {
  const config = getStorageConfig();
  const url = storageUrl(config);
  const target = openStorage(config);
  if (!url || !target) return null;
  // Opening a target does nothing until it is used; its label is all that is wanted here.
  void target.close().catch(() => undefined);
  return { url: canonicalFolderUrl(url), label: target.label };
}

/** A file URL as the storage browser names one: its folder's URL and its name. */
export function splitFileUrl(url: string): { folder: string; fileName: string } {
  const loc = parseLocationUrl(url);
  const fileName = loc.parts.at(-1);
  if (!fileName) throw new AppError('unprocessable', 'Name a backup file, not the root of the location.', { field: 'url' });
  return { folder: locationUrl(loc, loc.parts.slice(0, -1)), fileName };
}

/**
 * A folder URL as verifications record it, the drive of a usb:// URL
 * resolved from its label to its UUID (the drive must be attached), so the
 * storage browser's URL finds what a verification of the same file recorded.
 */
export async function recordedFolderUrl(folder: string): Promise<string> {
  const loc = parseLocationUrl(folder);
  if (loc.type !== 'usb') return locationUrl(loc);
  return locationUrl((await resolveLocation(folder)).loc);
}
