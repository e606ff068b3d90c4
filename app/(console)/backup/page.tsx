import type { Metadata } from 'next';
import Link from 'next/link';
import { pageAccess } from '@/lib/auth/page-guard';
import { OTP_BACKUP_GUIDANCE, can } from '@/lib/auth/roles';
import { backupStatus } from '@/lib/backup/status';
import { getBackupSettings } from '@/lib/backup/settings';
import { Banner } from '@/app/ui/banner';
import { RelativeTime } from '@/app/ui/relative-time';
import { BackupSettingsForm } from './settings-form';

export const metadata: Metadata = { title: 'Backup' };
export const dynamic = 'force-dynamic';

export default async function BackupPage() {
  const access = await pageAccess(null, '/backup');
  const { user } = access;
  const isOtp = user.role === 'otp';
  const status = can(user.role, 'backup:read') ? await backupStatus() : null;
  return (
    <div className="space-y-8">
      <h1 className="text-2xl font-semibold">Backup</h1>
      {isOtp ? (
        <Banner kind="warning" testId="otp-guidance">
          {OTP_BACKUP_GUIDANCE}{' '}
          <Link href="/users" className="font-semibold underline">
            Create an OAuth user account
          </Link>
          .
        </Banner>
      ) : null}

      {status ? (
        <section aria-labelledby="status-title" className="rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
          <h2 id="status-title" className="mb-4 text-lg font-semibold">
            Backup Status
          </h2>
          <table className="w-full text-left text-sm" aria-label="Backup Status Information">
            <thead>
              <tr className="border-b border-slate-200 text-slate-600">
                <th scope="col" className="py-2">Current Backup Status</th>
                <th scope="col" className="py-2">Last Successful Backup</th>
                <th scope="col" className="py-2">Next Scheduled Backup Execution</th>
              </tr>
            </thead>
            <tbody>
              <tr>
                <td className="py-2 font-semibold" data-testid="current-status">{status.current}</td>
                <td className="py-2" data-testid="last-success">
                  {status.lastSuccessfulAt ? <RelativeTime iso={status.lastSuccessfulAt} /> : 'No successful backup yet'}
                </td>
                <td className="py-2" data-testid="next-run">
                  {status.nextScheduledAt ? (
                    <RelativeTime iso={status.nextScheduledAt} />
                  ) : (
                    <>
                      <span className="font-semibold">Schedule Disabled</span>
                      {status.scheduleDisabledReason ? <span className="block text-xs text-slate-600">{status.scheduleDisabledReason}</span> : null}
                    </>
                  )}
                </td>
              </tr>
            </tbody>
          </table>
        </section>
      ) : null}

      <section aria-labelledby="settings-title" className="rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
        <h2 id="settings-title" className="mb-4 text-lg font-semibold">
          Backup Settings
        </h2>
        {can(user.role, 'backup:configure') || isOtp ? (
          <BackupSettingsForm filenamePrefix={isOtp ? '' : getBackupSettings().filenamePrefix} />
        ) : (
          <dl className="text-sm">
            <dt className="font-medium text-slate-700">Backup Filename Prefix</dt>
            <dd data-testid="prefix-readonly">{getBackupSettings().filenamePrefix || 'None'}</dd>
            <dd className="mt-2 text-xs text-slate-500">Only an admin can change backup settings.</dd>
          </dl>
        )}
      </section>
    </div>
  );
}
