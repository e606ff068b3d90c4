import type { Metadata } from 'next';
import Link from 'next/link';

export const metadata: Metadata = { title: 'Page not found' };

/** Any unknown URL: the console's own page with a way back, nothing of the framework's. */
export default function NotFound() {
  return (
    <main id="main" className="mx-auto flex min-h-screen max-w-xl flex-col justify-center px-4 py-10">
      <p className="font-semibold text-sky-800">Webconf</p>
      <h1 className="mt-2 text-2xl font-semibold">Page not found</h1>
      <p className="mt-3 text-sm text-slate-700">There is no page at this address. It may have moved, or the link may be mistyped. Your browser&apos;s Back button returns to where you were.</p>
      <div className="mt-6 flex flex-wrap gap-3">
        <Link href="/backup" className="rounded bg-slate-900 px-4 py-2 text-sm font-medium text-white">Go to the Backup page</Link>
      </div>
    </main>
  );
}
