import type { Metadata } from 'next';
import { getUser } from '@/lib/accounts/queries';
import { pageAccess } from '@/lib/auth/page-guard';
import { ROLE_LABELS } from '@/lib/auth/roles';
import { Banner } from '@/app/ui/banner';
import { RelativeTime } from '@/app/ui/relative-time';
import { ChangePasswordForm } from './change-password-form';

export const metadata: Metadata = { title: 'My account' };
export const dynamic = 'force-dynamic';

/** Every signed-in account: who it is, and its own password where it has one here. */
export default async function AccountPage() {
  const { user } = await pageAccess(null, '/account');
  const me = getUser(user.id)!;
  return (
    <div className="space-y-8">
      <h1 className="text-2xl font-semibold">My account</h1>
      <section aria-labelledby="me-title" className="min-w-0 rounded-lg border border-slate-200 bg-white p-4 text-sm shadow-sm sm:p-6">
        <h2 id="me-title" className="mb-3 text-lg font-semibold">
          {me.username}
          {me.displayName ? <span className="font-normal text-slate-500"> ({me.displayName})</span> : null}
        </h2>
        <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1">
          <dt className="text-slate-600">Role</dt>
          <dd>{ROLE_LABELS[me.role]}</dd>
          <dt className="text-slate-600">Password changed</dt>
          <dd>{me.passwordChangedAt ? <RelativeTime iso={me.passwordChangedAt.toISOString()} /> : me.kind === 'local' ? 'not since the account was created' : '—'}</dd>
        </dl>
      </section>
      <section className="min-w-0 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-6">
        {me.kind === 'local' ? (
          <ChangePasswordForm />
        ) : me.kind === 'oidc' ? (
          <Banner kind="info">
            You sign in with OpenID Connect: this appliance holds no password for you. Change your password at your identity provider; your role there decides your role here at each sign-in.
          </Banner>
        ) : (
          <Banner kind="info">
            The OTP User has a one-time password and cannot change it. Create an account with the Admin role, sign in with it, and remove the OTP User.
          </Banner>
        )}
      </section>
    </div>
  );
}
