import type { Metadata } from 'next';
import { listTokens } from '@/lib/auth/api-tokens';
import { pageAccess } from '@/lib/auth/page-guard';
import { Refused } from '@/app/ui/refused';
import { IssueTokenForm } from './issue-token-form';
import { TokenList } from './token-list';

export const metadata: Metadata = { title: 'API tokens' };
export const dynamic = 'force-dynamic';

export default async function TokensPage() {
  const access = await pageAccess('tokens:manage', '/settings/tokens');
  if (!access.allowed) return <Refused title="API tokens" message={access.message} />;
  const tokens = listTokens();
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-semibold">API tokens</h1>
      <p className="max-w-3xl text-sm text-slate-700">
        A token lets a script or the <code>webconf</code> command line use the console&apos;s JSON API with the role it was issued for
        (<code>Authorization: Bearer …</code>). The console keeps only a hash of each token; revoke one that is no longer needed or may have leaked.
      </p>
      <section aria-labelledby="tokens-title" className="min-w-0 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-6">
        <h2 id="tokens-title" className="mb-2 text-lg font-semibold">Tokens</h2>
        <TokenList tokens={tokens} />
      </section>
      <section className="min-w-0 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-6">
        <IssueTokenForm />
      </section>
    </div>
  );
}
