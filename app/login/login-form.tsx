'use client';
import { signIn } from 'next-auth/react';
import { useState } from 'react';
import { signInSchema } from '@/lib/accounts/schemas';
import { signInErrorMessage } from '@/lib/auth/sign-in-errors';
import { Banner } from '../ui/banner';
import { Field } from '../ui/field';

export function LoginForm({ callbackUrl, initialError, oidcName }: { callbackUrl: string; initialError?: string; oidcName: string | null }) {
  const [error, setError] = useState<string | undefined>(initialError);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string[]>>({});
  const [pending, setPending] = useState(false);
  const [username, setUsername] = useState('');

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const parsed = signInSchema.safeParse({ username: form.get('username'), password: form.get('password') });
    setUsername(String(form.get('username') ?? ''));
    if (!parsed.success) {
      const errs: Record<string, string[]> = {};
      for (const i of parsed.error.issues) (errs[String(i.path[0])] ??= []).push(i.message);
      setFieldErrors(errs);
      setError(undefined);
      return;
    }
    setFieldErrors({});
    setPending(true);
    try {
      const res = await signIn('credentials', { redirect: false, username: parsed.data.username, password: parsed.data.password, callbackUrl });
      if (res?.ok && !res.error) {
        window.location.assign(callbackUrl);
        return;
      }
      setError(signInErrorMessage(res?.error ?? 'CredentialsSignin'));
    } catch {
      setError('The appliance could not be reached. Try again.');
    } finally {
      setPending(false);
    }
  }

  return (
    <div className="rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
      {error ? <Banner kind="error" testId="login-error">{error}</Banner> : null}
      <form method="post" onSubmit={onSubmit} noValidate aria-label="Sign in with a password">
        <Field name="username" label="Username" autoComplete="username" defaultValue={username} errors={fieldErrors.username} required />
        <Field name="password" label="Password" type="password" autoComplete="current-password" errors={fieldErrors.password} required />
        <button type="submit" disabled={pending} className="w-full rounded-md bg-sky-700 px-4 py-2 text-sm font-semibold text-white hover:bg-sky-800 disabled:opacity-60">
          {pending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      {oidcName ? (
        <>
          <div className="my-4 text-center text-xs uppercase text-slate-500">or</div>
          <button
            type="button"
            onClick={() => signIn('oidc', { callbackUrl })}
            className="w-full rounded-md border border-slate-300 bg-white px-4 py-2 text-sm font-semibold text-slate-800 hover:bg-slate-100"
          >
            Sign in with {oidcName}
          </button>
        </>
      ) : null}
    </div>
  );
}
