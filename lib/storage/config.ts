import fsp from 'node:fs/promises';
import path from 'node:path';
import { audit, type Actor } from '../audit/audit';
import { applianceRoot } from '../backup/appliance';
import { dataDir } from '../env';
import { AppError } from '../errors';
import { getSetting, putSetting } from '../settings/store';
import { findUsbPartition, fullReason } from '../usb/drives';
import { UsbTarget } from '../usb/usb-target';
import { StorageError } from './errors';
import { LocalFolderTarget } from './local-folder';
import { localStorageRoot, parseLocationUrl } from './location';
import { NfsTarget } from './nfs-target';
import { probeLocation } from './probe';
import { storageConfigSchema, type StorageConfig, type StorageInput } from './schemas';
import type { StorageTarget } from './types';

const KEY = 'storage';

export function getStorageConfig(): StorageConfig {
  return getSetting(KEY, storageConfigSchema) ?? { type: 'none' };
}

/** Opens the configured target, or null when the Storage Type is None. */
export function openStorage(config: StorageConfig = getStorageConfig()): StorageTarget | null {
  switch (config.type) {
    case 'none':
      return null;
    case 'local':
      return new LocalFolderTarget(config.path);
    case 'nfs':
      return new NfsTarget(config.url);
    case 'usb':
      return new UsbTarget(config);
  }
}

/** The configured location as a URL (nfs://, usb://<UUID>/folder, file://), or null for None. */
export function storageUrl(config: StorageConfig = getStorageConfig()): string | null {
  switch (config.type) {
    case 'none':
      return null;
    case 'local':
      return `file://${config.path.split('/').map(encodeURIComponent).join('/')}`;
    case 'nfs':
      return config.url;
    case 'usb':
      return `usb://${encodeURIComponent(config.uuid)}/${config.path.split('/').filter(Boolean).map(encodeURIComponent).join('/')}`;
  }
}

export function describeStorage(config: StorageConfig = getStorageConfig()): string {
  switch (config.type) {
    case 'none':
      return 'None';
    case 'local':
      return `Local folder ${config.path}`;
    case 'nfs':
      return `NFS share ${config.url}`;
    case 'usb':
      return `USB drive ${config.label ? `${config.label} (${config.uuid})` : config.uuid}${config.path ? `, folder /${config.path}` : ''}`;
  }
}

/** Checks an NFS share before it is accepted: it answers, the path is a folder, and the console may write there. */
async function checkNfsShare(url: string, field: string): Promise<void> {
  const target = new NfsTarget(url, { timeoutMs: 10_000 });
  try {
    const access = await target.access().catch((err: Error) => {
      // The share's fault in words for an admin: which share, and why (not which NFS operation failed).
      throw new AppError('unprocessable', err instanceof StorageError ? `The console cannot use ${url}: ${err.reason}.` : err.message, { field });
    });
    if (!access.write) throw new AppError('unprocessable', `The console may not write to ${url} (the server's ACCESS check).`, { field });
    await probeOrRefuse(target, field);
  } finally {
    await target.close();
  }
}

/** The probe file (probe.ts): written, read back and removed, or the location is refused with the reason. */
async function probeOrRefuse(target: StorageTarget, field: string): Promise<void> {
  const problem = await probeLocation(target);
  if (problem) throw new AppError('unprocessable', `The location cannot take backups: ${problem}`, { field });
}

/**
 * Checks a USB location: the drive is attached (found by label or UUID),
 * its file system is one the console supports, it is not full, the folder
 * exists on it, and a probe file can be written there. Stored by UUID.
 */
async function checkUsbLocation(url: string, field: string): Promise<Extract<StorageConfig, { type: 'usb' }>> {
  let loc;
  try {
    loc = parseLocationUrl(url);
  } catch (err) {
    throw err instanceof AppError ? new AppError(err.code, err.message, { field }) : err;
  }
  if (loc.type !== 'usb') throw new AppError('unprocessable', 'A USB drive location is written usb://<drive label or UUID>/<folder>.', { field });
  const found = await findUsbPartition(loc.drive).catch((err: Error) => {
    throw new AppError('unprocessable', err.message, { field });
  });
  const config = { type: 'usb' as const, uuid: found.uuid!, path: loc.parts.join('/'), label: found.label ?? null, serial: found.serial ?? null };
  const target = new UsbTarget(config);
  try {
    const full = fullReason(await target.space().catch(() => null));
    if (full) throw new AppError('unprocessable', `The USB drive ${found.label ?? found.uuid} cannot take backups: ${full}`, { field });
    const st = loc.parts.length ? await target.stat('').catch((err: Error) => {
      throw new AppError('unprocessable', err.message, { field });
    }) : { type: 'directory' };
    if (!st) throw new AppError('unprocessable', `There is no folder /${config.path} on the USB drive ${found.label ?? found.uuid}.`, { field });
    if (st.type !== 'directory') throw new AppError('unprocessable', `/${config.path} on the USB drive is not a folder.`, { field });
    await probeOrRefuse(target, field);
  } finally {
    await target.close().catch(() => undefined);
  }
  return config;
}

function isSameOrInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Checks a local folder before it is accepted: it exists, is a folder, is
 * writable, and neither holds nor lies inside the console's data folder
 * (symbolic links resolved), so backups never land among the console's own
 * files and never take them in.
 */
async function checkLocalFolder(p: string, field: string): Promise<string> {
  const st = await fsp.stat(p).catch(() => null);
  if (!st) throw new AppError('unprocessable', `The folder ${p} does not exist.`, { field });
  if (!st.isDirectory()) throw new AppError('unprocessable', `${p} is not a folder.`, { field });
  const real = await fsp.realpath(p);
  const root = await fsp.realpath(localStorageRoot()).catch(() => localStorageRoot());
  if (!isSameOrInside(real, root)) throw new AppError('unprocessable', `The console keeps local backups inside ${root}.`, { field });
  const data = await fsp.realpath(dataDir()).catch(() => path.resolve(dataDir()));
  if (isSameOrInside(real, data) || isSameOrInside(data, real)) {
    throw new AppError('unprocessable', 'Choose a folder outside the console data folder (and not one that contains it).', { field });
  }
  // Backups inside the configuration they back up would take in every earlier backup.
  const config = await fsp.realpath(applianceRoot()).catch(() => applianceRoot());
  if (isSameOrInside(real, config) || isSameOrInside(config, real)) {
    throw new AppError('unprocessable', 'Choose a folder outside the appliance configuration (and not one that contains it).', { field });
  }
  const target = new LocalFolderTarget(real);
  const access = await target.access();
  if (!access.write) throw new AppError('unprocessable', `The console cannot write to ${p}.`, { field });
  await probeOrRefuse(target, field);
  return real;
}

/**
 * Checks a location and saves it: reachable, writable (a probe file written,
 * read back and removed), then stored. A location that fails is not saved
 * and the reason is told at `field` (the form's "location"; the API's
 * "url" or "path" by default).
 */
export async function saveStorageConfig(actor: Actor, input: StorageInput | StorageConfig, opts: { field?: string } = {}): Promise<StorageConfig> {
  let config: StorageConfig;
  switch (input.type) {
    case 'none':
      config = input;
      break;
    case 'local':
      // The folder is stored resolved: a symbolic link swapped later cannot redirect backups.
      config = { type: 'local', path: await checkLocalFolder(input.path, opts.field ?? 'path') };
      break;
    case 'nfs':
      await checkNfsShare(input.url, opts.field ?? 'url');
      config = { type: 'nfs', url: input.url };
      break;
    case 'usb':
      // A stored configuration passed back in is checked like a typed URL.
      config = await checkUsbLocation('url' in input ? input.url : (storageUrl(input) ?? ''), opts.field ?? 'url');
      break;
  }
  putSetting(KEY, storageConfigSchema, config, actor.name);
  audit(actor, 'backup.storage.configure', 'success', { target: describeStorage(config) });
  return config;
}
