import type { Metadata } from 'next';
import Link from 'next/link';
import { pageAccess } from '@/lib/auth/page-guard';
import { OTP_BACKUP_GUIDANCE, ROLE_LABELS, can } from '@/lib/auth/roles';
import { dmsInfo } from '@/lib/backup/dms';
import { backupHistory } from '@/lib/backup/runs';
import { toRunView } from '@/lib/backup/run-view';
import { describeSchedule, nextRuns } from '@/lib/backup/schedule';
import { getBackupSettings } from '@/lib/backup/settings';
import { backupStatus } from '@/lib/backup/status';
import { describeStorage, getStorageConfig, storageUrl } from '@/lib/storage/config';
import { formatSize } from '@/lib/storage/format-size';
import { describeVerifySchedule } from '@/lib/verify/describe';
import { verificationsByRun } from '@/lib/verify/queries';
import { getVerifySchedule } from '@/lib/verify/settings';
import { applianceIdentity } from '@/lib/backup/appliance';
import { lastRestores } from '@/lib/restore/service';
import { PageFlash } from '@/app/ui/page-flash';
import { RestoreSection } from './restore-section';
import { Banner } from '@/app/ui/banner';
import { BackupNowButton } from './backup-now';
import { timeZoneNames } from '@/lib/time/zones';
import { DmsForm } from './dms-form';
import { HistoryTable } from './history-table';
import { ScheduleForm } from './schedule-form';
import { BackupSettingsForm } from './settings-form';
import { StatusPanel } from './status-panel';
import { StorageForm } from './storage-form';
import { StorageView } from './storage-view';
import { VerifyScheduleForm } from './verify-schedule-form';

export const metadata: Metadata = { title: 'Backup' };
export const dynamic = 'force-dynamic';

function Card({ id, title, children }: { id: string; title: string; children: React.ReactNode }) {
  return (
    <section aria-labelledby={id} className="min-w-0 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-6">
      <h2 id={id} className="mb-4 text-lg font-semibold">{title}</h2>
      {children}
    </section>
  );
}

export default async function BackupPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const sp = await searchParams;
  const { user } = await pageAccess(null, '/backup');
  const isOtp = user.role === 'otp';
  const admin = can(user.role, 'backup:configure');
  const reader = can(user.role, 'backup:read');
  const status = reader ? await backupStatus() : null;
  const settings = reader ? getBackupSettings() : null;
  const dms = reader ? dmsInfo() : null;
  const storage = reader ? getStorageConfig() : null;
  const runs = reader ? backupHistory(50).map(toRunView) : [];
  const canVerify = can(user.role, 'backup:verify');
  const verifications = reader ? Object.fromEntries(verificationsByRun(runs.map((r) => r.id))) : {};
  const verifySchedule = reader ? getVerifySchedule() : null;
  const canRestore = can(user.role, 'backup:restore');
  const restoreCandidates = runs.filter((r) => r.status === 'succeeded' && r.fileName && !r.prunedAt).map((r) => ({ fileName: r.fileName!, finishedAt: r.finishedAt }));
  return (
    <div className="space-y-8">
      <PageFlash />
      <div>
        <h1 className="text-2xl font-semibold">Backup</h1>
        <p className="mt-1 max-w-3xl text-sm text-slate-600">
          A backup is a snapshot of the system at a specific point in time: firmware configuration, system configuration (cluster, network, database, etc.), the internal database, and for an external database its configuration only. No backup of the HSM or external databases is created.
        </p>
      </div>
      {isOtp ? (
        <Banner kind="warning" testId="otp-guidance">
          {OTP_BACKUP_GUIDANCE}{' '}
          <Link href="/users" className="font-semibold underline">Create an OAuth user account</Link>.
        </Banner>
      ) : null}

      {status ? (
        <Card id="status-title" title="Backup Status">
          <StatusPanel initial={status} />
          {can(user.role, 'backup:run') ? (
            <div className="mt-4">
              <BackupNowButton initial={{ running: status.running, blocker: status.blocker }} />
              <p className="mt-2 text-xs text-slate-500">Do not restart or shut down the Software Appliance while the Backup is running.</p>
            </div>
          ) : (
            <p className="mt-4 text-sm text-slate-600" data-testid="backup-now-not-allowed">
              There is no Backup now button for you: the {ROLE_LABELS[user.role]} role can read the status and history but not start a backup. An operator or an admin can start one.
            </p>
          )}
        </Card>
      ) : null}

      {/* The OTP User may only create accounts: it is shown the guidance above and no form it would be refused. */}
      {isOtp ? null : (
      <Card id="settings-title" title="Backup Settings">
        <div className="space-y-8">
          {reader ? (
            <div>
              <h3 className="mb-2 font-semibold">Backup Protection</h3>
              {dms?.set ? (
                <Banner kind="success" testId="dms-set">DOMAIN MASTER SECRET IS SET.</Banner>
              ) : admin ? (
                <>
                  <p className="mb-3 text-sm text-slate-600">
                    The Domain Master Secret (DMS) is a passphrase used to ensure the integrity and authenticity of the backups via encryption and signing. It can only be set once. Once the DMS is set, it cannot be changed or deleted.
                  </p>
                  <DmsForm />
                </>
              ) : (
                <p className="text-sm text-slate-600" data-testid="dms-not-set">The Domain Master Secret is not set yet. An admin must set it before backups can be created.</p>
              )}
            </div>
          ) : null}
          {admin ? (
            <BackupSettingsForm filenamePrefix={settings?.filenamePrefix ?? ''} />
          ) : (
            <dl className="text-sm">
              <dt className="font-medium text-slate-700">Backup Filename Prefix</dt>
              <dd data-testid="prefix-readonly">{settings?.filenamePrefix || 'None'}</dd>
              <dd className="mt-2 text-xs text-slate-500">Only an admin can change backup settings.</dd>
            </dl>
          )}
          {settings && admin ? (
            <ScheduleForm
              schedule={settings.schedule}
              retention={settings.retention}
              nextRuns={nextRuns(settings.schedule, 3).map((d) => d.toISOString())}
              description={describeSchedule(settings.schedule)}
              timezones={timeZoneNames()}
            />
          ) : settings ? (
            <dl className="text-sm">
              <dt className="font-medium text-slate-700">Automated Backup Schedule</dt>
              <dd data-testid="schedule-readonly">{settings.schedule.enabled ? describeSchedule(settings.schedule) : 'Turned off'}</dd>
              <dt className="mt-2 font-medium text-slate-700">Retention</dt>
              <dd>{settings.retention ? `Keep the ${settings.retention} most recent successful backups` : 'Keep all backups'}</dd>
            </dl>
          ) : null}
          {verifySchedule && admin ? (
            <VerifyScheduleForm schedule={verifySchedule} />
          ) : verifySchedule ? (
            <dl className="text-sm">
              <dt className="font-medium text-slate-700">Scheduled Verification</dt>
              <dd data-testid="verify-schedule-readonly">{describeVerifySchedule(verifySchedule)}</dd>
            </dl>
          ) : null}
        </div>
      </Card>
      )}

      {storage ? (
        <Card id="storage-title-card" title="Backup Storage">
          {status ? (
            <div className="mb-4 text-sm" data-testid="storage-state">
              <p>
                <span className="font-medium">Storage location:</span>{' '}
                <span className="break-all" data-testid={admin ? 'storage-current' : 'storage-readonly'}>{describeStorage(storage)}</span>
              </p>
              {status.storage.totalBytes !== null ? (
                <p className="text-slate-700" data-testid="storage-space">
                  Remaining Disk Space {formatSize(status.storage.freeBytes ?? 0)} of {formatSize(status.storage.totalBytes)}
                  {status.storage.expectedBackupBytes ? `; the next backup needs about ${formatSize(status.storage.expectedBackupBytes)}` : ''}.
                </p>
              ) : null}
              {status.storage.warning ? <Banner kind="warning" testId="storage-warning">{status.storage.warning}</Banner> : null}
              {/* A storage fault (unreachable, not attached, read-only); with None chosen the form below is the next step, not an error. */}
              {status.blocker && storage.type !== 'none' && status.blocker !== 'Set the Domain Master Secret first.' ? (
                <Banner kind="error" testId="storage-unavailable">{status.blocker}</Banner>
              ) : null}
            </div>
          ) : null}
          {admin ? <StorageForm config={storage} configUrl={storageUrl(storage)} canSave canVerify={canVerify} /> : <StorageView config={storage} configUrl={storageUrl(storage)} canVerify={canVerify} />}
        </Card>
      ) : null}

      {reader ? (
        <Card id="history-title" title="Backup History">
          <HistoryTable runs={runs} canBackup={Boolean(status?.canBackup)} canVerify={canVerify} canRestore={canRestore} verifications={verifications} />
        </Card>
      ) : null}

      {canRestore ? (
        <Card id="restore-title" title="Restore">
          <RestoreSection backups={restoreCandidates} applianceName={applianceIdentity().name} initialRecent={lastRestores()} preselected={typeof sp.restore === 'string' ? sp.restore : null} />
        </Card>
      ) : reader ? (
        <Card id="restore-title" title="Restore">
          <p className="text-sm text-slate-600" data-testid="restore-admins-only">Only an admin can restore a backup. Ask an admin if the appliance must go back to an earlier state.</p>
        </Card>
      ) : null}
    </div>
  );
}
