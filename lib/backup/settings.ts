import { audit, type Actor } from '../audit/audit';
import { getSetting, putSetting } from '../settings/store';
import { backupSettingsSchema, type BackupSettings } from './schemas';

const KEY = 'backup';

export function getBackupSettings(): BackupSettings {
  return getSetting(KEY, backupSettingsSchema) ?? backupSettingsSchema.parse({ filenamePrefix: '' });
}

export function saveBackupSettings(actor: Actor, next: Partial<BackupSettings>): BackupSettings {
  const merged = { ...getBackupSettings(), ...next };
  putSetting(KEY, backupSettingsSchema, merged, actor.name);
  audit(actor, 'backup.settings.save', 'success', { detail: next });
  return merged;
}
