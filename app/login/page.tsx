import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { currentUser } from '@/lib/auth/current-user';
import { signInErrorMessage } from '@/lib/auth/sign-in-errors';
import { getOidcConfig } from '@/lib/oidc/config';
import { safeCallbackUrl } from '@/lib/http/callback-url';
import { LoginForm } from './login-form';

export const metadata: Metadata = { title: 'Sign in' };
export const dynamic = 'force-dynamic';

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const sp = await searchParams;
  const callbackUrl = safeCallbackUrl(typeof sp.callbackUrl === 'string' ? sp.callbackUrl : undefined);
  if (await currentUser()) redirect(callbackUrl);
  const error = signInErrorMessage(typeof sp.error === 'string' ? sp.error : undefined);
  const oidc = getOidcConfig();
  return (
    <main id="main" className="mx-auto mt-24 max-w-sm px-4">
      <h1 className="mb-1 text-2xl font-semibold">Webconf</h1>
      <p className="mb-6 text-sm text-slate-600">Sign in to the Software Appliance.</p>
      {sp.restored === '1' ? (
        <p role="status" data-testid="restored-notice" className="mb-4 rounded-md border border-sky-300 bg-sky-50 px-4 py-3 text-sm text-sky-900">
          The appliance was restored from a backup. Sign in with an account of the restored state.
        </p>
      ) : null}
      <LoginForm callbackUrl={callbackUrl} initialError={error} oidcName={oidc?.enabled ? oidc.displayName : null} />
    </main>
  );
}
