import fsp from 'node:fs/promises';
import path from 'node:path';
import { audit, type Actor } from '../audit/audit';
import { applianceRoot } from '../backup/appliance';
import { dataDir } from '../env';
import { AppError } from '../errors';
import { getSetting, putSetting } from '../settings/store';
import { LocalFolderTarget } from './local-folder';
import { NfsTarget } from './nfs-target';
import { storageConfigSchema, type StorageConfig } from './schemas';
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
  }
}

/** Checks an NFS share before it is accepted: it answers, the path is a folder, and the console may write there. */
async function checkNfsShare(url: string): Promise<void> {
  const target = new NfsTarget(url, { timeoutMs: 10_000 });
  try {
    const access = await target.access().catch((err: Error) => {
      throw new AppError('unprocessable', err.message, { field: 'url' });
    });
    if (!access.write) throw new AppError('unprocessable', `The console may not write to ${url} (the server's ACCESS check).`, { field: 'url' });
  } finally {
    await target.close();
  }
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
async function checkLocalFolder(p: string): Promise<string> {
  const st = await fsp.stat(p).catch(() => null);
  if (!st) throw new AppError('unprocessable', `The folder ${p} does not exist.`, { field: 'path' });
  if (!st.isDirectory()) throw new AppError('unprocessable', `${p} is not a folder.`, { field: 'path' });
  const real = await fsp.realpath(p);
  const data = await fsp.realpath(dataDir()).catch(() => path.resolve(dataDir()));
  if (isSameOrInside(real, data) || isSameOrInside(data, real)) {
    throw new AppError('unprocessable', 'Choose a folder outside the console data folder (and not one that contains it).', { field: 'path' });
  }
  // Backups inside the configuration they back up would take in every earlier backup.
  const config = await fsp.realpath(applianceRoot()).catch(() => applianceRoot());
  if (isSameOrInside(real, config) || isSameOrInside(config, real)) {
    throw new AppError('unprocessable', 'Choose a folder outside the appliance configuration (and not one that contains it).', { field: 'path' });
  }
  const access = await new LocalFolderTarget(real).access();
  if (!access.write) throw new AppError('unprocessable', `The console cannot write to ${p}.`, { field: 'path' });
  return real;
}

export async function saveStorageConfig(actor: Actor, config: StorageConfig): Promise<void> {
  // The folder is stored resolved: a symbolic link swapped later cannot redirect backups.
  if (config.type === 'local') config = { ...config, path: await checkLocalFolder(config.path) };
  if (config.type === 'nfs') await checkNfsShare(config.url);
  putSetting(KEY, storageConfigSchema, config, actor.name);
  audit(actor, 'backup.storage.configure', 'success', { target: describeStorage(config) });
}
