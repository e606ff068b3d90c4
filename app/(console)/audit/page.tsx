import type { Metadata } from 'next';
import Link from 'next/link';
import { ACTION_GROUPS } from '@/lib/audit/phrases';
import { auditActors, auditPage } from '@/lib/audit/query';
import { auditFilterSchema } from '@/lib/audit/schemas';
import { fieldErrorsOf } from '@/lib/auth/validated-action';
import { pageAccess } from '@/lib/auth/page-guard';
import { Refused } from '@/app/ui/refused';
import { RelativeTime } from '@/app/ui/relative-time';

export const metadata: Metadata = { title: 'Audit trail' };
export const dynamic = 'force-dynamic';

type Search = Record<string, string | string[] | undefined>;
const FILTER_KEYS = ['user', 'action', 'outcome', 'from', 'to'] as const;
const OUTCOME_WORDS = { success: 'Done', denied: 'Refused', failure: 'Failed' } as const;
const OUTCOME_STYLE = { success: 'text-green-800', denied: 'text-amber-800', failure: 'text-red-800' } as const;

const input = 'mt-1 block w-full rounded border border-slate-300 px-2 py-1.5 text-sm aria-[invalid=true]:border-red-600';

function one(v: string | string[] | undefined): string {
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

function queryOf(values: Record<string, string>, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...values, ...extra })) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

export default async function AuditPage({ searchParams }: { searchParams: Promise<Search> }) {
  const access = await pageAccess('audit:read', '/audit');
  if (!access.allowed) return <Refused title="Audit trail" message={access.message} />;
  const sp = await searchParams;
  const values: Record<string, string> = Object.fromEntries(FILTER_KEYS.map((k) => [k, one(sp[k])]));
  // The time fields are read as UTC (labelled so): datetime-local sends no zone, and the server runs in UTC like the times shown.
  const parsed = auditFilterSchema.safeParse({ ...values, before: one(sp.before) });
  const errors = parsed.success ? {} : fieldErrorsOf(parsed.error);
  const filtered = FILTER_KEYS.some((k) => values[k]);
  const page = parsed.success ? auditPage(parsed.data) : { entries: [], nextBefore: null };
  const actors = auditActors();
  const err = (k: string) => errors[k]?.[0];

  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-semibold">Audit trail</h1>
      <form method="get" action="/audit" aria-label="Filter the audit trail" className="grid grid-cols-1 gap-3 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:grid-cols-2 sm:p-6 lg:grid-cols-5">
        <div>
          <label htmlFor="audit-user" className="text-sm font-medium">User</label>
          <input id="audit-user" name="user" list="audit-users" defaultValue={values.user} className={input} aria-invalid={!!err('user')} aria-describedby={err('user') ? 'audit-user-error' : undefined} placeholder="Any" />
          <datalist id="audit-users">{actors.map((a) => <option key={a} value={a} />)}</datalist>
          {err('user') && <p id="audit-user-error" className="mt-1 text-sm text-red-700">{err('user')}</p>}
        </div>
        <div>
          <label htmlFor="audit-action" className="text-sm font-medium">Action</label>
          <input id="audit-action" name="action" list="audit-actions" defaultValue={values.action} className={input} aria-invalid={!!err('action')} aria-describedby={`audit-action-hint${err('action') ? ' audit-action-error' : ''}`} placeholder="Any" />
          <datalist id="audit-actions">{Object.entries(ACTION_GROUPS).map(([k, label]) => <option key={k} value={k}>{label}</option>)}</datalist>
          <p id="audit-action-hint" className="mt-1 text-xs text-slate-600">A group (backup, account, auth…) or a code such as backup.dms.set.</p>
          {err('action') && <p id="audit-action-error" className="mt-1 text-sm text-red-700">{err('action')}</p>}
        </div>
        <div>
          <label htmlFor="audit-outcome" className="text-sm font-medium">Outcome</label>
          <select id="audit-outcome" name="outcome" defaultValue={values.outcome} className={input} aria-invalid={!!err('outcome')} aria-describedby={err('outcome') ? 'audit-outcome-error' : undefined}>
            <option value="">Any</option>
            <option value="success">Done</option>
            <option value="denied">Refused</option>
            <option value="failure">Failed</option>
          </select>
          {err('outcome') && <p id="audit-outcome-error" className="mt-1 text-sm text-red-700">{err('outcome')}</p>}
        </div>
        <div>
          <label htmlFor="audit-from" className="text-sm font-medium">From (UTC)</label>
          <input id="audit-from" name="from" type="datetime-local" defaultValue={values.from} className={input} aria-invalid={!!err('from')} aria-describedby={err('from') ? 'audit-from-error' : undefined} />
          {err('from') && <p id="audit-from-error" className="mt-1 text-sm text-red-700">{err('from')}</p>}
        </div>
        <div>
          <label htmlFor="audit-to" className="text-sm font-medium">To (UTC)</label>
          <input id="audit-to" name="to" type="datetime-local" defaultValue={values.to} className={input} aria-invalid={!!err('to')} aria-describedby={err('to') ? 'audit-to-error' : undefined} />
          {err('to') && <p id="audit-to-error" className="mt-1 text-sm text-red-700">{err('to')}</p>}
        </div>
        <div className="flex flex-wrap items-center gap-3 sm:col-span-2 lg:col-span-5">
          <button type="submit" className="rounded bg-slate-900 px-4 py-2 text-sm font-medium text-white">Filter</button>
          {filtered && <Link href="/audit" className="text-sm underline">Clear the filter</Link>}
          <a href={`/api/audit/export${queryOf(values)}`} download className="ml-auto rounded border border-slate-300 px-4 py-2 text-sm font-medium">Export CSV</a>
        </div>
      </form>

      <section aria-label="Entries" className="min-w-0 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:overflow-x-auto sm:p-6">
        {page.entries.length === 0 ? (
          filtered || one(sp.before) ? (
            <p className="text-sm text-slate-600">No entry matches this filter. Widen the time range, choose another user or outcome, or <Link href="/audit" className="underline">clear the filter</Link>.</p>
          ) : (
            <p className="text-sm text-slate-600">Nothing has been recorded yet. Sign-ins and every change appear here: sign out and in again, or change a setting, and come back.</p>
          )
        ) : (
          <table className="w-full text-left text-sm max-sm:block">
            <thead className="max-sm:hidden">
              <tr className="border-b border-slate-200 text-slate-600">
                <th scope="col" className="py-2 pr-2">When</th>
                <th scope="col" className="py-2 pr-2">What</th>
                <th scope="col" className="py-2 pr-2">Who</th>
                <th scope="col" className="py-2 pr-2">From</th>
                <th scope="col" className="py-2 pr-2">Outcome</th>
              </tr>
            </thead>
            <tbody className="max-sm:block">
              {page.entries.map((e) => (
                // On a narrow screen each entry is a card: the sentence first, then when, who, from where and the outcome.
                <tr key={e.id} data-testid="audit-entry" className="border-b border-slate-100 align-top max-sm:flex max-sm:flex-col max-sm:gap-0.5 max-sm:py-2">
                  <td className="py-1 pr-2 max-sm:order-2 sm:whitespace-nowrap">
                    <span className="block">{e.at.replace('T', ' ').slice(0, 19)} UTC</span>
                    <span className="block text-xs text-slate-600"><RelativeTime iso={e.at} /></span>
                  </td>
                  <td className="break-words py-1 pr-2 font-medium max-sm:order-1">
                    {e.sentence}
                    <span className="block text-xs font-normal text-slate-500">{e.action}</span>
                  </td>
                  <td className="break-all py-1 pr-2 max-sm:order-3"><span className="sm:hidden">Who: </span>{e.who}</td>
                  <td className="break-all py-1 pr-2 max-sm:order-4"><span className="sm:hidden">From: </span>{e.from ?? '—'}</td>
                  <td className={`py-1 pr-2 max-sm:order-5 ${OUTCOME_STYLE[e.outcome]}`}>
                    {OUTCOME_WORDS[e.outcome]}
                    {e.reason && <span className="block text-xs">Reason: {e.reason}</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <nav aria-label="Pages" className="mt-4 flex gap-4 text-sm">
          {one(sp.before) && <Link href={`/audit${queryOf(values)}`} className="underline">Newest entries</Link>}
          {page.nextBefore !== null && <Link href={`/audit${queryOf(values, { before: String(page.nextBefore) })}`} className="underline">Older entries</Link>}
        </nav>
      </section>
    </div>
  );
}
