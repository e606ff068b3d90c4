'use client';
import { useActionState, useCallback, useEffect, useRef, useState } from 'react';
import type { ActionState } from '@/lib/auth/validated-action';
import type { ChannelView } from '@/lib/alerts/channels';
import { Banner } from '@/app/ui/banner';
import { RelativeTime } from '@/app/ui/relative-time';
import { SubmitButton } from '@/app/ui/submit-button';
import { ChannelForm } from './channel-form';
import { enableChannelAction, removeChannelAction, testChannelAction } from './actions';

type Row = ChannelView & { pending: number };
type TestState = ActionState | undefined;
const KIND: Record<Row['kind'], string> = { email: 'E-mail', webhook: 'Webhook', syslog: 'Syslog' };

function where(c: Row): string {
  const cfg = c.config as Record<string, unknown>;
  if (c.kind === 'email') return `${(cfg.to as string[]).join(', ')} via ${cfg.host}:${cfg.port}`;
  if (c.kind === 'webhook') return String(cfg.url);
  return `${String(cfg.transport).toUpperCase()} ${cfg.host}:${cfg.port}`;
}

/** Send test: the result in words, at the channel. */
function TestButton({ c, state, action }: { c: Row; state: TestState; action: (f: FormData) => void }) {
  return (
    <form action={action} className="basis-full">
      <input type="hidden" name="id" value={c.id} />
      <SubmitButton variant="secondary">Send test</SubmitButton>
      {state ? (
        <p role="status" data-testid={`test-result-${c.id}`} className={`mt-1 text-sm ${state.ok && !state.code ? 'text-emerald-800' : 'text-red-700'}`}>{state.message}</p>
      ) : null}
    </form>
  );
}

function EnableButton({ c }: { c: Row }) {
  const [, action] = useActionState(enableChannelAction, undefined);
  return (
    <form action={action}>
      <input type="hidden" name="id" value={c.id} />
      <input type="hidden" name="enabled" value={c.enabled ? 'false' : 'true'} />
      <SubmitButton variant="secondary">{c.enabled ? 'Disable' : 'Enable'}</SubmitButton>
    </form>
  );
}

function RemoveDialog({ c, onClose, onRemoved }: { c: Row; onClose: () => void; onRemoved: (m: string) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [state, action] = useActionState(removeChannelAction, undefined);
  useEffect(() => ref.current?.showModal(), []);
  useEffect(() => {
    if (state?.ok) {
      onRemoved(state.message ?? 'Channel removed.');
      ref.current?.close();
    }
  }, [state, onRemoved]);
  return (
    <dialog ref={ref} onClose={onClose} aria-labelledby="remove-title" className="m-auto w-[calc(100%-2rem)] max-w-md rounded-lg p-0 shadow-xl backdrop:bg-slate-900/40">
      <form action={action} className="p-4">
        <h2 id="remove-title" className="mb-2 text-lg font-semibold">Remove the channel “{c.name}”?</h2>
        <p className="mb-4 text-sm text-slate-700">No more alerts go to {where(c)}; alerts still queued for it are dropped.</p>
        {state && !state.ok ? <p role="alert" className="mb-3 text-sm text-red-700">{state.message}</p> : null}
        <input type="hidden" name="id" value={c.id} />
        <div className="flex flex-wrap justify-end gap-2">
          <button type="button" onClick={() => ref.current?.close()} className="rounded-md border border-slate-300 px-4 py-2 text-sm font-semibold hover:bg-slate-100">Cancel</button>
          <SubmitButton variant="danger">Remove</SubmitButton>
        </div>
      </form>
    </dialog>
  );
}

/**
 * One channel: its state, its buttons, and its edit form in place. The test
 * result is kept here, and while it is shown the stored "Last error" (the
 * same failure, after the page is read again) is not repeated.
 */
function ChannelRow({ c, onRemove, onSaved }: { c: Row; onRemove: (c: Row) => void; onSaved: (m: string) => void }) {
  const [testState, testAction] = useActionState(testChannelAction, undefined);
  const [editing, setEditing] = useState(false);
  const editRef = useRef<HTMLButtonElement>(null);
  const closeEdit = useCallback(
    (message: string) => {
      setEditing(false);
      if (message) onSaved(message);
      // Back to the button that opened the form.
      requestAnimationFrame(() => editRef.current?.focus());
    },
    [onSaved],
  );
  return (
    <li data-testid={`channel-${c.name}`} className="flex flex-wrap items-start gap-x-4 gap-y-2 py-3 text-sm">
      <div className="min-w-0 flex-1 basis-56">
        <p className="font-medium">
          {c.name} <span className="font-normal text-slate-500">· {KIND[c.kind]}{c.enabled ? '' : ' · disabled'}</span>
        </p>
        <p className="text-slate-600 [overflow-wrap:anywhere]">{where(c)}</p>
        <p data-testid={`channel-state-${c.id}`} className={c.state === 'failing' ? 'text-red-700' : 'text-slate-600'}>
          {c.state === 'failing' ? (
            <>Failing: {c.consecutiveFailures} deliveries in a row failed{c.lastFailedAt ? <>, the last <RelativeTime iso={c.lastFailedAt} /></> : null}.</>
          ) : c.lastDeliveredAt ? (
            <>Last delivered <RelativeTime iso={c.lastDeliveredAt} />.</>
          ) : (
            <>Nothing delivered yet.</>
          )}
          {c.pending ? ` ${c.pending} alert${c.pending === 1 ? '' : 's'} waiting.` : ''}
        </p>
        {c.lastError && !testState ? <p data-testid={`channel-error-${c.id}`} className="text-red-700 [overflow-wrap:anywhere]">Last error: {c.lastError}</p> : null}
      </div>
      <div className="flex flex-wrap gap-2">
        <button ref={editRef} type="button" onClick={() => setEditing((x) => !x)} aria-expanded={editing}
          className="rounded-md border border-slate-300 px-3 py-2 text-sm font-semibold hover:bg-slate-100">
          Edit
        </button>
        <EnableButton c={c} />
        <button type="button" onClick={() => onRemove(c)} className="rounded-md border border-red-300 px-3 py-2 text-sm font-semibold text-red-800 hover:bg-red-50">
          Remove
        </button>
      </div>
      <TestButton c={c} state={testState} action={testAction} />
      {editing ? (
        <div className="basis-full rounded-md border border-slate-200 bg-slate-50 p-4">
          <ChannelForm channel={c} onDone={closeEdit} />
        </div>
      ) : null}
    </li>
  );
}

export function ChannelList({ channels }: { channels: Row[] }) {
  const [removing, setRemoving] = useState<Row | null>(null);
  const [done, setDone] = useState<string | null>(null);
  if (channels.length === 0) {
    return (
      <p data-testid="channels-empty" className="text-sm text-slate-600">
        No alert channels yet: nobody is told when a backup fails. Add an e-mail, webhook or syslog channel below, then press Send test.
      </p>
    );
  }
  return (
    <>
      {done ? <Banner kind="success">{done}</Banner> : null}
      <ul className="divide-y divide-slate-100">
        {channels.map((c) => <ChannelRow key={c.id} c={c} onRemove={setRemoving} onSaved={setDone} />)}
      </ul>
      {removing ? <RemoveDialog c={removing} onClose={() => setRemoving(null)} onRemoved={setDone} /> : null}
    </>
  );
}
