import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { dataDir, env } from '../env';
import { getSetting, putSetting } from '../settings/store';

/**
 * Who this appliance is (written into every backup's manifest) and where its
 * configuration lives. The configuration root holds:
 *   firmware/   firmware configuration                      -> in every backup
 *   system/     cluster, network, database settings (for an
 *               external database: its configuration only) -> in every backup
 *   hsm/        HSM material                                -> never in a backup
 * The internal database is the console's SQLite database, copied online.
 */
const identitySchema = z.object({ id: z.uuid() });

export type ApplianceIdentity = { id: string; name: string; firmwareVersion: string };

export function applianceIdentity(): ApplianceIdentity {
  let stored = getSetting('appliance', identitySchema);
  if (!stored) {
    stored = { id: crypto.randomUUID() };
    putSetting('appliance', identitySchema, stored, 'system');
  }
  return {
    id: stored.id,
    name: env().WEBCONF_APPLIANCE_NAME ?? (os.hostname().split('.')[0] || 'appliance'),
    firmwareVersion: env().WEBCONF_FIRMWARE_VERSION ?? '1.0.0',
  };
}

export function applianceRoot(): string {
  return path.resolve(env().WEBCONF_APPLIANCE_ROOT ?? path.join(dataDir(), 'appliance'));
}

/** The folders a backup takes, and the names that are never taken wherever they appear. */
export const BACKUP_SOURCES = [
  { folder: 'firmware', kind: 'firmware' },
  { folder: 'system', kind: 'system' },
] as const;
export const NEVER_BACKED_UP = ['hsm'] as const;

/** Makes the configuration folders on a new appliance so that a first backup has a place to read from. */
export function ensureApplianceFolders(): void {
  for (const s of BACKUP_SOURCES) fs.mkdirSync(path.join(applianceRoot(), s.folder), { recursive: true, mode: 0o700 });
}
