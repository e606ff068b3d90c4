import { count, desc } from 'drizzle-orm';
import { backupSettingsSchema } from '../backup/schemas';
import { describeSchedule } from '../backup/schedule';
import type { Db } from '../db/client';
import { auditEvents, backupRuns, domainMasterSecret, restoreRuns, settings, users } from '../db/schema';
import { oidcConfigSchema } from '../oidc/schemas';
import { describeStorage } from '../storage/config';
import { storageConfigSchema } from '../storage/schemas';

/**
 * What a restore changes, in the terms an admin thinks in: accounts,
 * sign-in settings, backup settings, schedule, storage, history. Read from
 * an opened database (the live one, or the backup's copy migrated to this
 * console's schema) without any secret: account names and roles, settings
 * in words, counts and the last entries.
 */
export type StateSummary = {
  accounts: { username: string; kind: string; role: string }[];
  dms: { setAt: string; setBy: string } | null;
  filenamePrefix: string;
  retention: number;
  schedule: string;
  storage: string;
  oidc: string;
  history: { runs: number; lastRunAt: string | null; lastSucceededFile: string | null };
  restores: number;
  auditEntries: number;
};

function setting(d: Db, key: string): unknown {
  const row = d.select().from(settings).all().find((r) => r.key === key);
  if (!row) return undefined;
  try {
    return JSON.parse(row.value);
  } catch {
    return undefined;
  }
}

export function summarizeState(d: Db): StateSummary {
  const backup = backupSettingsSchema.safeParse(setting(d, 'backup') ?? { filenamePrefix: '' });
  const storage = storageConfigSchema.safeParse(setting(d, 'storage') ?? { type: 'none' });
  const oidc = oidcConfigSchema.safeParse(setting(d, 'oidc'));
  const dms = d.select({ setAt: domainMasterSecret.setAt, setBy: domainMasterSecret.setBy }).from(domainMasterSecret).get();
  const last = d.select().from(backupRuns).orderBy(desc(backupRuns.id)).limit(1).get();
  const lastGood = d
    .select()
    .from(backupRuns)
    .orderBy(desc(backupRuns.id))
    .all()
    .find((r) => r.status === 'succeeded');
  return {
    accounts: d
      .select({ username: users.username, kind: users.kind, role: users.role })
      .from(users)
      .all()
      .sort((a, b) => a.username.localeCompare(b.username)),
    dms: dms ? { setAt: dms.setAt.toISOString(), setBy: dms.setBy } : null,
    filenamePrefix: backup.success ? backup.data.filenamePrefix : '(unreadable)',
    retention: backup.success ? backup.data.retention : 0,
    schedule: backup.success ? describeSchedule(backup.data.schedule) : '(unreadable)',
    storage: storage.success ? describeStorage(storage.data) : '(unreadable)',
    oidc: oidc.success ? `${oidc.data.enabled ? 'on' : 'off'}: ${oidc.data.issuer} (client ${oidc.data.clientId})` : 'not configured',
    history: {
      runs: d.select({ n: count() }).from(backupRuns).get()?.n ?? 0,
      lastRunAt: last ? last.startedAt.toISOString() : null,
      lastSucceededFile: lastGood?.fileName ?? null,
    },
    restores: d.select({ n: count() }).from(restoreRuns).get()?.n ?? 0,
    auditEntries: d.select({ n: count() }).from(auditEvents).get()?.n ?? 0,
  };
}

export type StateChange = { area: 'accounts' | 'sign-in' | 'backup settings' | 'schedule' | 'storage' | 'history' | 'DMS'; now: string; after: string };

const list = (a: StateSummary['accounts']) => (a.length ? a.map((u) => `${u.username} (${u.role})`).join(', ') : 'none');

/** The differences between the live state and the backup's, one line per area that changes. */
export function diffStates(now: StateSummary, after: StateSummary): StateChange[] {
  const out: StateChange[] = [];
  const add = (area: StateChange['area'], a: string, b: string) => {
    if (a !== b) out.push({ area, now: a, after: b });
  };
  add('accounts', list(now.accounts), list(after.accounts));
  add('sign-in', `OpenID Connect ${now.oidc}`, `OpenID Connect ${after.oidc}`);
  add('backup settings', `prefix "${now.filenamePrefix}", keep ${now.retention || 'all'}`, `prefix "${after.filenamePrefix}", keep ${after.retention || 'all'}`);
  add('schedule', now.schedule, after.schedule);
  add('storage', now.storage, after.storage);
  add(
    'history',
    `${now.history.runs} backup runs${now.history.lastRunAt ? `, the last started ${now.history.lastRunAt}` : ''}`,
    `${after.history.runs} backup runs${after.history.lastRunAt ? `, the last started ${after.history.lastRunAt}` : ''}`,
  );
  add('DMS', now.dms ? `set ${now.dms.setAt} by ${now.dms.setBy}` : 'not set', after.dms ? `set ${after.dms.setAt} by ${after.dms.setBy}` : 'not set');
  return out;
}
