import type { RestorePlan } from '@/lib/restore/plan';
import { formatBytes } from '@/app/ui/format';
import { RelativeTime } from '@/app/ui/relative-time';

/** The dry-run's plan: what the backup is, whether it can be restored here, and what a restore would change. */
export function RestorePlanView({ plan }: { plan: RestorePlan }) {
  const row = (label: string, value: React.ReactNode, testId?: string) => (
    <div className="grid grid-cols-1 gap-1 border-b border-slate-100 py-2 sm:grid-cols-3">
      <dt className="font-medium text-slate-700">{label}</dt>
      <dd className="break-all sm:col-span-2" data-testid={testId}>{value}</dd>
    </div>
  );
  return (
    <div className="space-y-6 text-sm" data-testid="restore-plan">
      <section aria-labelledby="plan-backup">
        <h4 id="plan-backup" className="mb-2 font-semibold">The backup</h4>
        <dl>
          {row('File', `${plan.file.name} (${formatBytes(plan.file.sizeBytes)})`, 'plan-file')}
          {row('From', plan.file.source)}
          {row('Appliance', `${plan.backup.appliance.name} (${plan.backup.appliance.id})`, 'plan-appliance')}
          {row('Firmware version', plan.backup.appliance.firmwareVersion)}
          {row('Created', <RelativeTime iso={plan.backup.createdAt} />)}
          {row('Format version', String(plan.backup.formatVersion))}
          {row('Contents', (
            <ul>
              {plan.backup.parts.map((p) => (
                <li key={p.kind}>{p.label}: {p.included ? `${p.files} file${p.files === 1 ? '' : 's'}, ${formatBytes(p.bytes)}` : 'not included'}</li>
              ))}
            </ul>
          ))}
          {row('Signature', <span className="font-medium text-green-800">Verified with the Domain Master Secret</span>, 'plan-signature')}
          {row('Verification', 'Full: every chunk authenticated, every member’s SHA-256 checked')}
          {row('Checksum (SHA-256)', <code className="text-xs">{plan.file.checksum}</code>)}
          {row('Opened with', plan.dms === 'entered' ? 'the Domain Master Secret you entered' : 'this appliance’s Domain Master Secret')}
        </dl>
      </section>

      {plan.blockers.length ? (
        <section aria-labelledby="plan-blockers" role="alert" className="rounded-md border border-red-300 bg-red-50 p-3 text-red-900" data-testid="plan-blockers">
          <h4 id="plan-blockers" className="mb-1 font-semibold">It cannot be restored here</h4>
          <ul className="list-disc pl-5">{plan.blockers.map((b) => <li key={b}>{b}</li>)}</ul>
        </section>
      ) : (
        <p className="rounded-md border border-green-300 bg-green-50 p-3 text-green-900" data-testid="plan-ok">It can be restored on this appliance.</p>
      )}
      {plan.warnings.length ? (
        <section aria-labelledby="plan-warnings" className="rounded-md border border-amber-300 bg-amber-50 p-3 text-amber-900" data-testid="plan-warnings">
          <h4 id="plan-warnings" className="mb-1 font-semibold">Be aware</h4>
          <ul className="list-disc pl-5">{plan.warnings.map((w) => <li key={w}>{w}</li>)}</ul>
        </section>
      ) : null}

      <section aria-labelledby="plan-steps">
        <h4 id="plan-steps" className="mb-2 font-semibold">What the restore replaces</h4>
        <ul className="space-y-2">
          {plan.steps.map((s) => (
            <li key={s.part} className="rounded border border-slate-200 p-2">
              <span className="font-medium">{s.part}</span>
              <span className="block text-slate-600">Now: {s.now}</span>
              <span className="block text-slate-600">After: {s.after}</span>
            </li>
          ))}
        </ul>
      </section>

      <section aria-labelledby="plan-changes">
        <h4 id="plan-changes" className="mb-2 font-semibold">What changes</h4>
        {plan.changes.length ? (
          <ul className="space-y-2" data-testid="plan-changes">
            {plan.changes.map((c) => (
              <li key={c.area} className="rounded border border-slate-200 p-2" data-testid={`plan-change-${c.area.replace(/\s+/g, '-')}`}>
                <span className="font-medium capitalize">{c.area}</span>
                <span className="block break-words text-slate-600">Now: {c.now}</span>
                <span className="block break-words text-slate-900">After: {c.after}</span>
              </li>
            ))}
          </ul>
        ) : (
          <p className="text-slate-600">Accounts, sign-in, settings, schedule, storage and history are the same in the backup as now.</p>
        )}
      </section>

      <section aria-labelledby="plan-identity">
        <h4 id="plan-identity" className="mb-2 font-semibold">This appliance’s identity</h4>
        <dl>{plan.identity.map((i) => row(i.item, i.outcome))}</dl>
      </section>

      <section aria-labelledby="plan-by-hand">
        <h4 id="plan-by-hand" className="mb-2 font-semibold">Restore by hand</h4>
        <ul className="list-disc pl-5 text-slate-700">{plan.byHand.map((b) => <li key={b}>{b}</li>)}</ul>
      </section>
    </div>
  );
}
