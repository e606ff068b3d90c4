import fsp from 'node:fs/promises';
import path from 'node:path';
import { audit, type Actor } from '../audit/audit';
import { dataDir } from '../env';
import { AppError } from '../errors';
import { getSetting, putSetting } from '../settings/store';
import { LocalFolderTarget } from './local-folder';
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
  }
}

export function describeStorage(config: StorageConfig = getStorageConfig()): string {
  return config.type === 'none' ? 'None' : `Local folder ${config.path}`;
}

/** Checks a local folder before it is accepted: it exists, is a folder, is writable, is not the console's own data. */
async function checkLocalFolder(p: string): Promise<void> {
  const st = await fsp.stat(p).catch(() => null);
  if (!st) throw new AppError('unprocessable', `The folder ${p} does not exist.`, { field: 'path' });
  if (!st.isDirectory()) throw new AppError('unprocessable', `${p} is not a folder.`, { field: 'path' });
  const data = path.resolve(dataDir());
  if (p === data || p.startsWith(`${data}/`) || data.startsWith(`${p}/`)) {
    throw new AppError('unprocessable', 'Choose a folder outside the console data folder.', { field: 'path' });
  }
  const access = await new LocalFolderTarget(p).access();
  if (!access.write) throw new AppError('unprocessable', `The console cannot write to ${p}.`, { field: 'path' });
}

export async function saveStorageConfig(actor: Actor, config: StorageConfig): Promise<void> {
  if (config.type === 'local') await checkLocalFolder(config.path);
  putSetting(KEY, storageConfigSchema, config, actor.name);
  audit(actor, 'backup.storage.configure', 'success', { target: describeStorage(config) });
}
