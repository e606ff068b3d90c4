import { NextResponse, type NextRequest } from 'next/server';
import { SESSION_COOKIE_NAMES } from './lib/auth/cookies';

/**
 * First gate only: a request without any session cookie is sent to sign-in
 * (pages) or refused (API, unless it carries an Authorization header). Every page, action and route handler checks the
 * session and role itself; nothing relies on this file having run.
 */
const PUBLIC = [/^\/login(\/|$)/, /^\/api\/auth\//, /^\/api\/health$/];
const SESSION_COOKIES = Object.values(SESSION_COOKIE_NAMES);

export function proxy(req: NextRequest) {
  const { pathname, search } = req.nextUrl;
  if (PUBLIC.some((re) => re.test(pathname))) return NextResponse.next();
  if (SESSION_COOKIES.some((name) => req.cookies.has(name))) return NextResponse.next();
  // An API token goes to the route handler, which checks it (lib/http/route.ts); pages take none.
  if (pathname.startsWith('/api/') && req.headers.has('authorization')) return NextResponse.next();
  if (pathname.startsWith('/api/')) {
    return NextResponse.json({ error: { code: 'unauthorized', message: 'Sign in to continue.' } }, { status: 401 });
  }
  const url = req.nextUrl.clone();
  url.pathname = '/login';
  url.search = `?callbackUrl=${encodeURIComponent(pathname + search)}`;
  return NextResponse.redirect(url);
}

/**
 * Not the restore upload: Next clones the body of every request the proxy
 * sees, buffered in memory up to experimental.proxyClientMaxBodySize (10 MB),
 * and hands the route only that much, silently. A backup file streams to its
 * route unseen by the proxy; the route checks session and role itself.
 */
export const config = {
  matcher: ['/((?!_next/static|_next/image|favicon.ico|favicon.svg|robots.txt|api/restore/upload).*)'],
};
