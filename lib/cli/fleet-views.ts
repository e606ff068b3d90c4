import { boxTable, cellText, fieldList } from './box-table';
import { exactTime, relativeAge } from './relative-age';
import type { FleetConfigView, FleetRunView, FleetStatusView } from './schemas';

/**
 * What `webconf backup …` prints, modelled on the NetDefense seed's
 * `ndcli backup config show` and `ndcli backup status`. Pure functions of the
 * console's JSON (and the clock, for relative times).
 */

const on = (yes: boolean, onText: string, offText: string) => (yes ? `● ${onText}` : `○ ${offText}`);

export function renderConfig(c: FleetConfigView): string {
  const s = c.storage;
  const storage: ([string, string] | null)[] =
    s === null
      ? [['Storage', '○ Not configured']]
      : s.kind === 'console'
        ? [['Storage', "The console's own backup storage location"]]
        : [
            ['S3 Endpoint', s.endpoint],
            ...(s.region ? ([['S3 Region', s.region]] as [string, string][]) : []),
            ['S3 Bucket', s.bucket],
            ['S3 Folder', s.folder || '-'],
            ['S3 Key ID', s.accessKeyId],
          ];
  return fieldList([
    ['Status', on(c.status === 'enabled', 'ENABLED', 'DISABLED')],
    null,
    ...storage,
    ['Schedule', c.schedule ? `${c.schedule.cron}${c.schedule.timezone ? ` (${c.schedule.timezone})` : ''}` : '-'],
    ['Encryption Key', on(c.encryptionKey.configured, 'Configured', 'Not configured')],
    ...(c.encryptionKey.recipient ? ([['Recipient', c.encryptionKey.recipient]] as [string, string][]) : []),
    ['Retention', c.retention ? `${c.retention} most recent backups per device` : '-'],
    null,
    ['Created', exactTime(c.createdAt)],
    ['Updated', `${exactTime(c.updatedAt)}${c.updatedBy ? ` by ${c.updatedBy}` : ''}`],
  ]);
}

export function renderStatus(s: FleetStatusView, now: Date): string {
  const total = `Total: ${s.total} device${s.total === 1 ? '' : 's'} (${s.enabled} with backup enabled)`;
  if (s.devices.length === 0) return `No managed devices yet: add them on the console's Managed devices page.\n\n${total}`;
  const devices = [...s.devices].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const table = boxTable(
    ['Device', 'Backup', 'Key', 'Last Backup', 'Status'],
    devices.map((d) => [d.name, d.backup, d.key, relativeAge(d.lastBackupAt, now), d.status ? `● ${d.status}` : '-']),
  );
  const failures = devices.filter((d) => d.status === 'FAILED');
  const why = failures.length ? `\n\nFailed:\n${failures.map((d) => `  ${cellText(d.name)}: ${cellText(d.message ?? 'no reason recorded')}`).join('\n')}` : '';
  return `${table}${why}\n\n${total}`;
}

const TASK_WORDS = { PENDING: 'Pending', 'IN PROGRESS': 'In progress', SUCCEEDED: 'Succeeded', FAILED: 'Failed', CANCELLED: 'Cancelled' } as const;

export function renderRun(r: FleetRunView): string {
  const rows = r.tasks.map((t) => [
    t.device,
    t.status === 'SUCCEEDED' || t.status === 'FAILED' ? `● ${t.status}` : TASK_WORDS[t.status],
    t.status === 'SUCCEEDED' ? (t.unchanged ? 'Unchanged, no new copy stored' : 'Stored') : (t.error ?? '-'),
  ]);
  const count = (st: string) => r.tasks.filter((t) => t.status === st).length;
  const unchanged = r.tasks.filter((t) => t.status === 'SUCCEEDED' && t.unchanged).length;
  const summary =
    `Run ${r.id} ${r.status}: ${count('SUCCEEDED')} succeeded${unchanged ? ` (${unchanged} unchanged)` : ''}, ${count('FAILED')} failed` +
    (count('CANCELLED') ? `, ${count('CANCELLED')} cancelled` : '');
  return rows.length ? `${boxTable(['Device', 'Status', 'Result'], rows)}\n\n${summary}` : `${summary} (no devices in the run)`;
}

/** One line while a run goes on: "Run 12: 3 of 10 done (1 failed)". */
export function runProgress(r: FleetRunView): string {
  const done = r.tasks.filter((t) => t.status === 'SUCCEEDED' || t.status === 'FAILED' || t.status === 'CANCELLED').length;
  const failed = r.tasks.filter((t) => t.status === 'FAILED').length;
  return `Run ${r.id}: ${done} of ${r.tasks.length} done${failed ? ` (${failed} failed)` : ''}`;
}
