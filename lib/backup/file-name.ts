/**
 * Backup file names: [<prefix>-]<appliance>-<UTC timestamp>.tar.age, e.g.
 * "site-a-webconf01-20261122T043000Z.tar.age". The timestamp sorts; a
 * collision within the same second gets "-2", "-3". The temporary name while
 * writing is ".<final name>.partial".
 */
export const BACKUP_SUFFIX = '.tar.age';
export const PARTIAL_SUFFIX = '.partial';

export function utcStamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

export function backupFileName(prefix: string, appliance: string, at: Date, attempt = 1): string {
  const base = [prefix, appliance, utcStamp(at)].filter(Boolean).join('-');
  return `${base}${attempt > 1 ? `-${attempt}` : ''}${BACKUP_SUFFIX}`;
}

export function partialName(finalName: string): string {
  return `.${finalName}${PARTIAL_SUFFIX}`;
}

/**
 * True for the name of a finished backup file: "<something>.tar.age", not
 * hidden (a partial file is ".<name>.partial"). Only the last path
 * component counts. A name says nothing of the contents: readBackupDetails
 * (details.ts) tells whether the file really is one.
 */
export function isBackupFileName(name: string): boolean {
  const base = name.slice(name.lastIndexOf('/') + 1);
  return base.length > BACKUP_SUFFIX.length && base.endsWith(BACKUP_SUFFIX) && !base.startsWith('.');
}
