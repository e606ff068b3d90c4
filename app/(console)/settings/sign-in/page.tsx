import type { Metadata } from 'next';
import { pageAccess } from '@/lib/auth/page-guard';
import { OIDC_PROVIDER_ID } from '@/lib/auth/options';
import { describeOidcConfig } from '@/lib/oidc/config';
import { Refused } from '@/app/ui/refused';
import { OidcForm } from './oidc-form';

export const metadata: Metadata = { title: 'Sign-in settings' };
export const dynamic = 'force-dynamic';

export default async function SignInSettingsPage() {
  const access = await pageAccess('auth:configure', '/settings/sign-in');
  if (!access.allowed) return <Refused title="Sign-in settings" message={access.message} />;
  const current = describeOidcConfig();
  const callbackUrl = `${process.env.NEXTAUTH_URL ?? ''}/api/auth/callback/${OIDC_PROVIDER_ID}`;
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-semibold">Sign-in settings</h1>
      <section className="min-w-0 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-6">
        <OidcForm current={current} callbackUrl={callbackUrl} />
      </section>
    </div>
  );
}
