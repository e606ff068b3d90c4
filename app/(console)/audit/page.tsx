import type { Metadata } from 'next';
import { recentAuditEvents } from '@/lib/audit/audit';
import { pageAccess } from '@/lib/auth/page-guard';
import { Refused } from '@/app/ui/refused';
import { RelativeTime } from '@/app/ui/relative-time';

export const metadata: Metadata = { title: 'Audit trail' };
export const dynamic = 'force-dynamic';

export default async function AuditPage() {
  const access = await pageAccess('audit:read', '/audit');
  if (!access.allowed) return <Refused title="Audit trail" message={access.message} />;
  const events = recentAuditEvents(200);
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-semibold">Audit trail</h1>
      <section className="min-w-0 sm:overflow-x-auto rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-6">
        {events.length === 0 ? (
          <p className="text-sm text-slate-600">Nothing has been recorded yet. Sign-ins and every change appear here.</p>
        ) : (
          <table className="w-full text-left text-sm max-sm:block">
            <thead className="max-sm:hidden">
              <tr className="border-b border-slate-200 text-slate-600">
                <th scope="col" className="py-2">When</th>
                <th scope="col" className="py-2">Who</th>
                <th scope="col" className="py-2">From</th>
                <th scope="col" className="py-2">What</th>
                <th scope="col" className="py-2">Target</th>
                <th scope="col" className="py-2">Outcome</th>
              </tr>
            </thead>
            <tbody className="max-sm:block">
              {events.map((e) => (
                // On a narrow screen each event is a small card: when and outcome, who and from where, what and its target.
                <tr key={e.id} className="border-b border-slate-100 max-sm:grid max-sm:grid-cols-2 max-sm:gap-x-3 max-sm:py-2">
                  <td className="py-1 pr-2"><RelativeTime iso={e.at.toISOString()} /></td>
                  <td className="py-1 pr-2">{e.actorName}</td>
                  <td className="py-1 pr-2">{e.ip ?? ''}</td>
                  <td className="break-all py-1 pr-2 font-medium sm:font-normal">{e.action}</td>
                  <td className="break-all py-1 pr-2">{e.target ?? ''}</td>
                  <td className={`py-1 pr-2 ${e.outcome === 'success' ? 'text-green-800' : 'text-red-800'}`}>{e.outcome}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
