import type { Metadata } from 'next';
import Link from 'next/link';
import { canRemoveOtp } from '@/lib/accounts/accounts';
import { listUsers, otpUser } from '@/lib/accounts/queries';
import { pageAccess } from '@/lib/auth/page-guard';
import { ROLE_LABELS, can } from '@/lib/auth/roles';
import { Banner } from '@/app/ui/banner';
import { Refused } from '@/app/ui/refused';
import { RelativeTime } from '@/app/ui/relative-time';
import { CreateUserForm } from './create-user-form';
import { RemoveOtpButton, UserControls } from './user-row-actions';

export const metadata: Metadata = { title: 'User accounts' };
export const dynamic = 'force-dynamic';

const KIND_WORDS = { oidc: 'OpenID Connect', otp: 'One-time password', local: 'Password' } as const;

export default async function UsersPage() {
  const access = await pageAccess('users:create', '/users');
  if (!access.allowed) return <Refused title="User accounts" message={access.message} />;
  const { user } = access;
  const manage = can(user.role, 'users:manage');
  const users = manage ? listUsers() : [];
  const otpPresent = Boolean(otpUser());
  return (
    <div className="space-y-8">
      <h1 className="text-2xl font-semibold">User accounts</h1>
      {user.role === 'otp' ? (
        <Banner kind="info">
          You are signed in as the OTP User. Create an OAuth user account with the Admin role, sign in with it, and remove the OTP User.
        </Banner>
      ) : null}
      {manage && otpPresent ? (
        <section aria-labelledby="otp-title" className="rounded-lg border border-amber-300 bg-amber-50 p-6">
          <h2 id="otp-title" className="mb-2 text-lg font-semibold">OTP User</h2>
          {canRemoveOtp() ? (
            <>
              <p className="mb-3 text-sm">An admin OAuth user exists. Remove the OTP User so that backups can be created.</p>
              <RemoveOtpButton />
            </>
          ) : (
            <p className="text-sm">Create an admin OAuth user first; then the OTP User can be removed.</p>
          )}
        </section>
      ) : null}
      {manage ? (
        <section aria-labelledby="list-title" className="min-w-0 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-6">
          <h2 id="list-title" className="mb-1 text-lg font-semibold">Accounts</h2>
          <p className="mb-4 text-sm text-slate-600">
            A change of role, password or state ends that account&apos;s open sessions at once. The last enabled admin cannot be demoted, disabled or deleted.
          </p>
          <ul className="divide-y divide-slate-100">
            {users.map((u) => (
              <li key={u.id} className="flex flex-col gap-3 py-3 lg:flex-row lg:items-start lg:justify-between" data-testid={`user-${u.username}`}>
                <div className="min-w-0 text-sm">
                  <p className="font-medium break-words">
                    {u.username}
                    {u.displayName ? <span className="font-normal text-slate-500"> ({u.displayName})</span> : null}
                    {u.id === user.id ? <span className="ml-2 rounded bg-sky-100 px-1.5 py-0.5 text-xs text-sky-900">you</span> : null}
                    {u.disabledAt ? (
                      <span className="ml-2 rounded bg-red-100 px-1.5 py-0.5 text-xs text-red-900" data-testid="disabled-badge">
                        disabled
                      </span>
                    ) : null}
                  </p>
                  <p className="text-slate-600">
                    <span data-testid="role">{ROLE_LABELS[u.role]}</span> · {KIND_WORDS[u.kind]}
                  </p>
                  <p className="text-slate-600" data-testid="last-sign-in">
                    Last sign-in:{' '}
                    {u.lastLoginAt ? (
                      <>
                        <RelativeTime iso={u.lastLoginAt.toISOString()} />
                        {u.lastLoginIp ? <> from <span className="font-mono">{u.lastLoginIp}</span></> : null}
                      </>
                    ) : (
                      'never'
                    )}
                  </p>
                </div>
                {u.kind === 'otp' ? null : u.id === user.id ? (
                  <p className="text-sm text-slate-600">
                    {u.kind === 'local' ? (
                      <>Your own account: change your password under <Link href="/account" className="text-sky-800 underline">My account</Link>; another admin changes its role or state.</>
                    ) : (
                      'Your own account: another admin changes its state.'
                    )}
                  </p>
                ) : (
                  <UserControls user={{ id: u.id, username: u.username, kind: u.kind, role: u.role as 'admin' | 'operator' | 'support', disabled: Boolean(u.disabledAt) }} />
                )}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <section className="min-w-0 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-6">
        <CreateUserForm />
      </section>
    </div>
  );
}
