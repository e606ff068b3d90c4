import type { Metadata } from 'next';
import { listChannels } from '@/lib/alerts/channels';
import { failingConditions } from '@/lib/alerts/conditions';
import { pendingCounts } from '@/lib/alerts/deliverer';
import { reminderHours } from '@/lib/alerts/settings';
import { pageAccess } from '@/lib/auth/page-guard';
import { Refused } from '@/app/ui/refused';
import { RelativeTime } from '@/app/ui/relative-time';
import { ChannelForm } from './channel-form';
import { ChannelList } from './channel-list';
import { ReminderForm } from './reminder-form';

export const metadata: Metadata = { title: 'Alerts' };
export const dynamic = 'force-dynamic';

export default async function AlertsPage() {
  const access = await pageAccess('alerts:configure', '/settings/alerts');
  if (!access.allowed) return <Refused title="Alerts" message={access.message} />;
  const channels = listChannels();
  const pending = pendingCounts();
  const failing = failingConditions();
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-semibold">Alerts</h1>
      <p className="max-w-3xl text-sm text-slate-700">
        The console sends one alert when something starts failing (a backup, a verification, the storage location, a missed scheduled backup, a
        managed device), a reminder while it stays failed, and one when it works again. Alerts are queued and sent in the background: a slow or
        unreachable channel never delays a backup; it is retried and shown below as failing.
      </p>
      <section aria-labelledby="failing-title" className="min-w-0 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-6">
        <h2 id="failing-title" className="mb-2 text-lg font-semibold">Failing now</h2>
        {failing.length === 0 ? (
          <p data-testid="failing-empty" className="text-sm text-slate-600">Nothing is failing.</p>
        ) : (
          <ul className="divide-y divide-slate-100 text-sm" data-testid="failing-list">
            {failing.map((f) => (
              <li key={f.key} className="py-2">
                <span className="font-medium">{(JSON.parse(f.detail ?? '{}') as { what?: string }).what ?? f.key}</span> — failing since{' '}
                <RelativeTime iso={f.since.toISOString()} />
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="channels-title" className="min-w-0 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-6">
        <h2 id="channels-title" className="mb-2 text-lg font-semibold">Channels</h2>
        <ChannelList channels={channels.map((c) => ({ ...c, pending: pending.get(c.id) ?? 0 }))} />
      </section>
      <section className="min-w-0 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-6">
        <ChannelForm />
      </section>
      <section className="min-w-0 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-6">
        <ReminderForm hours={reminderHours()} />
      </section>
    </div>
  );
}
