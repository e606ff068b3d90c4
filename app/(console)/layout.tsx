import Link from 'next/link';
import { redirect } from 'next/navigation';
import { currentUser, signInPath } from '@/lib/auth/current-user';
import { ROLE_LABELS, can } from '@/lib/auth/roles';
import { SignOutButton } from './sign-out-button';

export const dynamic = 'force-dynamic';

export default async function ConsoleLayout({ children }: { children: React.ReactNode }) {
  const user = await currentUser();
  if (!user) redirect(await signInPath());
  const nav = [
    { href: '/backup', label: 'Backup', show: true },
    { href: '/devices', label: 'Managed devices', show: can(user.role, 'devices:read') },
    { href: '/users', label: 'User accounts', show: can(user.role, 'users:create') },
    { href: '/settings/sign-in', label: 'Sign-in settings', show: can(user.role, 'auth:configure') },
    { href: '/settings/tokens', label: 'API tokens', show: can(user.role, 'tokens:manage') },
    { href: '/settings/alerts', label: 'Alerts', show: can(user.role, 'alerts:configure') },
    { href: '/audit', label: 'Audit trail', show: can(user.role, 'audit:read') },
    { href: '/account', label: 'My account', show: user.kind === 'local' },
  ].filter((n) => n.show);
  return (
    <div className="min-h-screen">
      <header className="border-b border-slate-200 bg-white">
        <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-6 gap-y-2 px-4 py-3">
          <span className="font-semibold text-sky-800">Webconf</span>
          <nav aria-label="Main" className="order-last flex w-full flex-wrap gap-x-4 gap-y-1 text-sm sm:order-none sm:w-auto">
            {nav.map((n) => (
              <Link key={n.href} href={n.href} className="text-slate-700 hover:text-sky-800 hover:underline">
                {n.label}
              </Link>
            ))}
          </nav>
          <div className="ml-auto flex min-w-0 items-center gap-3 text-sm">
            <span data-testid="whoami" className="min-w-0 truncate">
              {user.displayName || user.username} <span className="rounded bg-slate-100 px-2 py-0.5 text-xs text-slate-700">{ROLE_LABELS[user.role]}</span>
            </span>
            <SignOutButton />
          </div>
        </div>
      </header>
      <main id="main" className="mx-auto max-w-6xl px-3 py-6 sm:px-4 sm:py-8">
        {children}
      </main>
    </div>
  );
}
