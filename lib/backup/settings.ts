import { audit, type Actor } from '../audit/audit';
import { getSetting, putSetting } from '../settings/store';
import { backupSettingsSchema, type BackupSettings } from './schemas';

const KEY = 'backup';
const DEFAULTS: BackupSettings = { filenamePrefix: '' };

export function getBackupSettings(): BackupSettings {
  return getSetting(KEY, backupSettingsSchema) ?? DEFAULTS;
}

export function saveBackupSettings(actor: Actor, next: BackupSettings): BackupSettings {
  const merged = { ...getBackupSettings(), ...next };
  putSetting(KEY, backupSettingsSchema, merged, actor.name);
  audit(actor, 'backup.settings.save', 'success', { detail: { filenamePrefix: merged.filenamePrefix } });
  return merged;
}
