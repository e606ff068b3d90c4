'use client';
import { useActionState, useEffect, useRef, useState } from 'react';
import type { ApiTokenView } from '@/lib/auth/api-tokens';
import { ROLE_LABELS } from '@/lib/auth/roles';
import { Banner } from '@/app/ui/banner';
import { RelativeTime } from '@/app/ui/relative-time';
import { SubmitButton } from '@/app/ui/submit-button';
import { revokeTokenAction } from './actions';

/** Asks in the console's own dialog, then revokes through the form action. */
function RevokeDialog({ token, onClose, onRevoked }: { token: ApiTokenView; onClose: () => void; onRevoked: (message: string) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [state, action] = useActionState(revokeTokenAction, undefined);
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  useEffect(() => {
    if (state?.ok) {
      onRevoked(state.message ?? 'Token revoked.');
      ref.current?.close();
    }
  }, [state, onRevoked]);
  return (
    <dialog ref={ref} onClose={onClose} aria-labelledby="revoke-title" data-testid="revoke-dialog"
      className="m-auto w-[calc(100%-2rem)] max-w-md rounded-lg p-0 shadow-xl backdrop:bg-slate-900/40">
      <form action={action} className="p-4">
        <h2 id="revoke-title" className="mb-2 text-lg font-semibold">Revoke the token “{token.name}”?</h2>
        <p className="mb-4 text-sm text-slate-700">
          Every script or command line using it ({token.prefix}…) is refused from now on. This cannot be undone; issue a new token to replace it.
        </p>
        {state && !state.ok ? <p role="alert" className="mb-3 text-sm text-red-700">{state.message}</p> : null}
        <input type="hidden" name="id" value={token.id} />
        <div className="flex flex-wrap justify-end gap-2">
          <button type="button" onClick={() => ref.current?.close()} className="rounded-md border border-slate-300 px-4 py-2 text-sm font-semibold hover:bg-slate-100">
            Cancel
          </button>
          <SubmitButton variant="danger">Revoke</SubmitButton>
        </div>
      </form>
    </dialog>
  );
}

export function TokenList({ tokens }: { tokens: ApiTokenView[] }) {
  const [revoking, setRevoking] = useState<ApiTokenView | null>(null);
  const [done, setDone] = useState<string | null>(null);
  if (tokens.length === 0) {
    return (
      <p data-testid="tokens-empty" className="text-sm text-slate-600">
        No API tokens yet. Issue one below for a script or the <code>webconf</code> command line; it acts with the role you give it.
      </p>
    );
  }
  return (
    <>
      {done ? <Banner kind="success">{done}</Banner> : null}
      <ul className="divide-y divide-slate-100">
        {tokens.map((t) => (
          <li key={t.id} data-testid={`token-${t.name}`} className="flex flex-wrap items-center gap-x-4 gap-y-1 py-3 text-sm">
            <div className="min-w-0 flex-1 basis-48">
              <p className="font-medium [overflow-wrap:anywhere]">
                {t.name} <span className="rounded bg-slate-100 px-2 py-0.5 text-xs text-slate-700">{ROLE_LABELS[t.role]}</span>
                {t.revokedAt ? <span className="ml-1 rounded bg-red-50 px-2 py-0.5 text-xs text-red-800">Revoked</span> : null}
              </p>
              <p className="text-slate-600">
                <code className="font-mono text-xs">{t.prefix}…</code> · issued <RelativeTime iso={t.createdAt} /> by {t.createdBy} · last used{' '}
                {t.lastUsedAt ? <RelativeTime iso={t.lastUsedAt} /> : 'never'}
                {t.revokedAt ? (
                  <>
                    {' '}· revoked <RelativeTime iso={t.revokedAt} />
                    {t.revokedBy ? ` by ${t.revokedBy}` : ''}
                  </>
                ) : null}
              </p>
            </div>
            {t.revokedAt ? null : (
              <button type="button" onClick={() => (setDone(null), setRevoking(t))}
                className="rounded-md border border-slate-300 bg-white px-4 py-2 text-sm font-semibold text-red-800 shadow-sm hover:bg-red-50">
                Revoke<span className="sr-only"> {t.name}</span>
              </button>
            )}
          </li>
        ))}
      </ul>
      {revoking ? (
        <RevokeDialog token={revoking} onClose={() => setRevoking(null)} onRevoked={setDone} />
      ) : null}
    </>
  );
}
