import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { asc } from 'drizzle-orm';
import { createLocalUser } from '@/lib/accounts/accounts';
import { applianceRoot } from '@/lib/backup/appliance';
import { isDmsSet, setDms } from '@/lib/backup/dms';
import { startBackup, waitForBackup } from '@/lib/backup/engine';
import { getBackupRun } from '@/lib/backup/runs';
import { saveBackupSettings } from '@/lib/backup/settings';
import { db } from '@/lib/db/client';
import { backupRuns, domainMasterSecret, settings, users } from '@/lib/db/schema';
import { saveOidcConfig } from '@/lib/oidc/config';
import { saveStorageConfig } from '@/lib/storage/config';

/**
 * A configured appliance for restore tests, made through the console's own
 * domain functions (accounts, sign-in settings, DMS, storage, schedule,
 * retention, history), and a dump of its state to compare row by row.
 */
export const ACTOR = { id: 1, name: 'admin', ip: '127.0.0.1' };

function writeConfig(rel: string, data: Buffer | string) {
  const abs = path.join(applianceRoot(), rel);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  fs.writeFileSync(abs, data);
}

/** Everything an admin configures, varied by `variant` so that two states differ in every area. */
export async function configure(variant: string, o: { storageDir: string; dms: string }): Promise<void> {
  if (!isDmsSet()) await setDms(ACTOR, o.dms);
  await createLocalUser(ACTOR, { username: `admin-${variant}`, displayName: `Admin ${variant}`, role: 'admin', password: `pass-${variant}-0123456789`, confirmPassword: '' });
  await createLocalUser(ACTOR, { username: `ops-${variant}`, displayName: '', role: 'operator', password: `pass-${variant}-0123456789`, confirmPassword: '' });
  saveOidcConfig(ACTOR, {
    enabled: true,
    displayName: `IdP ${variant}`,
    issuer: `http://127.0.0.1:1/${variant}`,
    clientId: `client-${variant}`,
    clientSecret: `secret-${variant}`,
    roleClaim: 'groups',
    adminValues: [`admins-${variant}`],
    operatorValues: [],
    supportValues: [],
  });
  await saveStorageConfig(ACTOR, { type: 'local', path: o.storageDir });
  saveBackupSettings(ACTOR, {
    filenamePrefix: `site-${variant}`,
    retention: variant.length + 3,
    schedule: { enabled: true, cron: variant === 'a' ? '30 2 * * *' : '15 4 * * 1', timezone: variant === 'a' ? 'UTC' : 'Europe/Berlin' },
  });
  writeConfig('firmware/version.json', `{"firmware":"${variant}"}`);
  writeConfig(`system/network/${variant}.conf`, `eth0 ${variant}\n`);
  writeConfig('system/cluster/nodes.json', crypto.createHash('sha256').update(variant).digest());
}

export async function backUp(): Promise<{ id: number; fileName: string; checksum: string }> {
  const run = await startBackup('manual', ACTOR);
  await waitForBackup(run.id);
  const done = getBackupRun(run.id)!;
  if (done.status !== 'succeeded') throw new Error(`backup failed: ${done.error}`);
  return { id: done.id, fileName: done.fileName!, checksum: done.checksum! };
}

function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, rel: string) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) walk(abs, `${rel}${e.name}/`);
      else out[`${rel}${e.name}`] = crypto.createHash('sha256').update(fs.readFileSync(abs)).digest('hex');
    }
  };
  walk(root, '');
  return out;
}

export type StateDump = ReturnType<typeof dumpState>;

/** The state a restore brings back: accounts, settings, the DMS, the history, the configuration files. */
export function dumpState() {
  const d = db();
  return {
    users: d.select().from(users).orderBy(asc(users.id)).all(),
    settings: d.select({ key: settings.key, value: settings.value, updatedBy: settings.updatedBy }).from(settings).orderBy(asc(settings.key)).all(),
    dms: d.select({ verifier: domainMasterSecret.verifier, setAt: domainMasterSecret.setAt, setBy: domainMasterSecret.setBy }).from(domainMasterSecret).all(),
    history: d.select().from(backupRuns).orderBy(asc(backupRuns.id)).all(),
    firmware: tree(path.join(applianceRoot(), 'firmware')),
    system: tree(path.join(applianceRoot(), 'system')),
    hsm: tree(path.join(applianceRoot(), 'hsm')),
  };
}
