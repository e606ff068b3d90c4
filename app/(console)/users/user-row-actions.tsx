'use client';
import { useActionState, useEffect, useRef, useState } from 'react';
import { Banner } from '@/app/ui/banner';
import { ConfirmDialog } from '@/app/ui/confirm-dialog';
import { Field } from '@/app/ui/field';
import type { ActionState } from '@/lib/auth/validated-action';
import { changeRoleAction, deleteUserAction, removeOtpUserAction, resetPasswordAction, setDisabledAction } from './actions';

type Role = 'admin' | 'operator' | 'support';
export type RowUser = { id: number; username: string; kind: 'local' | 'oidc'; role: Role; disabled: boolean };

const ROLE_NAMES: Record<Role, string> = { admin: 'Admin', operator: 'Operator', support: 'Support' };
const BUTTON = 'rounded-md border px-3 py-1.5 text-sm';

/**
 * What an admin does to one account, each behind the console's own dialog:
 * role (password accounts; an OpenID Connect account's role follows its
 * claims), password reset (password accounts), disable or enable, delete.
 */
export function UserControls({ user }: { user: RowUser }) {
  const [roleState, roleAction] = useActionState(changeRoleAction, undefined);
  const [resetState, resetAction] = useActionState(resetPasswordAction, undefined);
  const [stateState, stateAction] = useActionState(setDisabledAction, undefined);
  const [deleteState, deleteAction] = useActionState(deleteUserAction, undefined);
  // The last answer of any of the row's actions, shown under the row.
  const [latest, setLatest] = useState<ActionState | undefined>();
  useEffect(() => void (roleState && setLatest(roleState)), [roleState]);
  useEffect(() => void (resetState && setLatest(resetState)), [resetState]);
  useEffect(() => void (stateState && setLatest(stateState)), [stateState]);
  useEffect(() => void (deleteState && setLatest(deleteState)), [deleteState]);
  const [dialog, setDialog] = useState<null | 'role' | 'reset' | 'state' | 'delete'>(null);
  const [role, setRole] = useState<Role>(user.role);
  const roleSelect = useRef<HTMLSelectElement>(null);
  const [resetGeneration, setResetGeneration] = useState(0);
  const roleForm = useRef<HTMLFormElement>(null);
  const resetForm = useRef<HTMLFormElement>(null);
  const stateForm = useRef<HTMLFormElement>(null);
  const deleteForm = useRef<HTMLFormElement>(null);
  const [busy, setBusy] = useState(false);

  // An answer closes the dialog, except a reset refused at a field: it stays open with the error by the field.
  useEffect(() => setBusy(false), [roleState, resetState, stateState, deleteState]);
  useEffect(() => {
    if (roleState || stateState || deleteState) setDialog((d) => (d === 'reset' ? d : null));
  }, [roleState, stateState, deleteState]);
  useEffect(() => {
    if (!resetState) return;
    if (resetState.ok) {
      setDialog(null);
      setResetGeneration((g) => g + 1);
    } else if (!resetState.fieldErrors) setDialog(null);
  }, [resetState]);
  // A refused role change puts the select back to the role the account has.
  useEffect(() => {
    if (roleState && !roleState.ok) setRole(user.role);
  }, [roleState, user.role]);

  const submit = (form: React.RefObject<HTMLFormElement | null>) => {
    setBusy(true);
    setLatest(undefined);
    form.current?.requestSubmit();
  };
  const resetErrors = resetState && !resetState.ok ? resetState.fieldErrors : undefined;
  const idp = `u${user.id}`;

  return (
    <div className="min-w-0">
      <div className="flex flex-wrap items-end gap-2">
        {user.kind === 'local' ? (
          <form ref={roleForm} action={roleAction} className="flex items-end gap-2">
            <input type="hidden" name="id" value={user.id} />
            <label className="text-sm">
              <span className="block text-xs text-slate-600">Role</span>
              <select
                ref={roleSelect}
                name="role"
                value={role}
                onChange={(e) => setRole(e.currentTarget.value as Role)}
                aria-label={`Role of ${user.username}`}
                className="mt-0.5 rounded-md border border-slate-300 px-2 py-1.5 text-sm"
              >
                <option value="admin">Admin</option>
                <option value="operator">Operator</option>
                <option value="support">Support</option>
              </select>
            </label>
            <button type="button" disabled={role === user.role} onClick={() => setDialog('role')} className={`${BUTTON} border-slate-300 hover:bg-slate-50 disabled:opacity-50`}>
              Change role…
            </button>
          </form>
        ) : (
          <p className="text-xs text-slate-600">Role from the identity provider&apos;s claims</p>
        )}
        {user.kind === 'local' ? (
          <button type="button" onClick={() => setDialog('reset')} className={`${BUTTON} border-slate-300 hover:bg-slate-50`}>
            Reset password…
          </button>
        ) : null}
        <form ref={stateForm} action={stateAction}>
          <input type="hidden" name="id" value={user.id} />
          <input type="hidden" name="disabled" value={user.disabled ? 'false' : 'true'} />
          <button type="button" onClick={() => setDialog('state')} className={`${BUTTON} border-slate-300 hover:bg-slate-50`}>
            {user.disabled ? 'Enable…' : 'Disable…'}
          </button>
        </form>
        <form ref={deleteForm} action={deleteAction}>
          <input type="hidden" name="id" value={user.id} />
          <button type="button" onClick={() => setDialog('delete')} className={`${BUTTON} border-red-300 text-red-800 hover:bg-red-50`}>
            Delete…
          </button>
        </form>
      </div>
      <div aria-live="polite" className="mt-2 empty:hidden" data-testid={`result-${user.username}`}>
        {latest?.message && dialog === null ? <Banner kind={latest.ok ? 'success' : 'error'}>{latest.message}</Banner> : null}
      </div>

      <ConfirmDialog
        open={dialog === 'role'}
        title={`Change the role of ${user.username}?`}
        confirmLabel={`Make ${ROLE_NAMES[role]}`}
        busy={busy}
        onCancel={() => {
          setDialog(null);
          setRole(user.role);
        }}
        // Change role… is disabled again once the choice is undone: focus goes back to the select, not to the page.
        returnFocusTo={roleSelect}
        onConfirm={() => submit(roleForm)}
      >
        <p>
          {ROLE_NAMES[user.role]} → {ROLE_NAMES[role]}. Their open sessions end at once; they sign in again to continue.
        </p>
      </ConfirmDialog>

      <ConfirmDialog open={dialog === 'reset'} title={`Reset the password of ${user.username}?`} confirmLabel="Set the new password" danger busy={busy} onCancel={() => setDialog(null)} onConfirm={() => submit(resetForm)}>
        <form ref={resetForm} action={resetAction} noValidate key={resetGeneration} onSubmit={() => setBusy(true)}>
          <input type="hidden" name="id" value={user.id} />
          <p className="mb-3">Their open sessions end at once. Give them the new password in person; they can change it under My account.</p>
          {resetState && !resetState.ok && !resetErrors ? <Banner kind="error">{resetState.message}</Banner> : null}
          <Field id={`${idp}-password`} name="password" label="New password" type="password" autoComplete="new-password" required hint="At least 12 characters." errors={resetErrors?.password} />
          <Field id={`${idp}-confirmPassword`} name="confirmPassword" label="Repeat the new password" type="password" autoComplete="new-password" required errors={resetErrors?.confirmPassword} />
        </form>
      </ConfirmDialog>

      <ConfirmDialog
        open={dialog === 'state'}
        title={user.disabled ? `Enable ${user.username}?` : `Disable ${user.username}?`}
        confirmLabel={user.disabled ? 'Enable the account' : 'Disable the account'}
        danger={!user.disabled}
        busy={busy}
        onCancel={() => setDialog(null)}
        onConfirm={() => submit(stateForm)}
      >
        <p>{user.disabled ? 'They can sign in again.' : 'They cannot sign in until an admin enables the account; their open sessions end at once.'}</p>
      </ConfirmDialog>

      <ConfirmDialog open={dialog === 'delete'} title={`Delete ${user.username}?`} confirmLabel="Delete the account" danger busy={busy} onCancel={() => setDialog(null)} onConfirm={() => submit(deleteForm)}>
        <p>The account is removed and signed out at once. The audit trail keeps its entries.</p>
      </ConfirmDialog>
    </div>
  );
}

export function RemoveOtpButton() {
  const [state, action] = useActionState(removeOtpUserAction, undefined);
  const [open, setOpen] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  useEffect(() => {
    if (state) setOpen(false);
  }, [state]);
  return (
    <form ref={form} action={action}>
      <button type="button" onClick={() => setOpen(true)} className="rounded-md bg-red-700 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-red-800">
        Remove OTP User
      </button>
      {state && !state.ok ? <p role="alert" className="mt-1 text-sm text-red-700">{state.message}</p> : null}
      <ConfirmDialog open={open} title="Remove the OTP User?" confirmLabel="Remove the OTP User" danger onCancel={() => setOpen(false)} onConfirm={() => form.current?.requestSubmit()}>
        <p>Its one-time password stops working at once.</p>
      </ConfirmDialog>
    </form>
  );
}
