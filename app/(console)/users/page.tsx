import type { Metadata } from 'next';
import { canRemoveOtp } from '@/lib/accounts/accounts';
import { listUsers, otpUser } from '@/lib/accounts/queries';
import { pageAccess } from '@/lib/auth/page-guard';
import { ROLE_LABELS, can } from '@/lib/auth/roles';
import { Banner } from '@/app/ui/banner';
import { Refused } from '@/app/ui/refused';
import { RelativeTime } from '@/app/ui/relative-time';
import { CreateUserForm } from './create-user-form';
import { DeleteUserButton, RemoveOtpButton } from './user-row-actions';

export const metadata: Metadata = { title: 'User accounts' };
export const dynamic = 'force-dynamic';

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
          <h2 id="list-title" className="mb-4 text-lg font-semibold">Accounts</h2>
          <table className="w-full text-left text-sm">
            <thead>
              <tr className="border-b border-slate-200 text-slate-600">
                <th scope="col" className="py-2">Username</th>
                <th scope="col" className="py-2">Role</th>
                <th scope="col" className="py-2">Sign-in</th>
                <th scope="col" className="py-2">Last sign-in</th>
                <th scope="col" className="py-2"><span className="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {users.map((u) => (
                <tr key={u.id} className="border-b border-slate-100" data-testid={`user-${u.username}`}>
                  <td className="py-2">{u.username}{u.displayName ? <span className="text-slate-500"> ({u.displayName})</span> : null}</td>
                  <td className="py-2">{ROLE_LABELS[u.role]}</td>
                  <td className="py-2">{u.kind === 'oidc' ? 'OpenID Connect' : u.kind === 'otp' ? 'One-time password' : 'Password'}</td>
                  <td className="py-2">{u.lastLoginAt ? <RelativeTime iso={u.lastLoginAt.toISOString()} /> : 'Never'}</td>
                  <td className="py-2 text-right">{u.id !== user.id && u.kind !== 'otp' ? <DeleteUserButton id={u.id} username={u.username} /> : null}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
      <section className="min-w-0 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-6">
        <CreateUserForm />
      </section>
    </div>
  );
}
