/**
 * Cross-site request forgery defence for route handlers that change state
 * (server actions have Next's own Origin check; route handlers do not). A
 * browser always sends Origin on a cross-origin POST, PUT, PATCH or DELETE,
 * and Sec-Fetch-Site on every request; a request must prove it comes from
 * the console's own pages through one of them. Clients that are not
 * browsers send an Origin header equal to the console's URL.
 */
export function checkSameOrigin(req: { headers: Headers; nextUrl?: URL; url: string }): { ok: true } | { ok: false; message: string } {
  const fetchSite = req.headers.get('sec-fetch-site');
  if (fetchSite && fetchSite !== 'same-origin') {
    return { ok: false, message: 'Cross-site request refused.' };
  }
  const origin = req.headers.get('origin');
  if (!origin) {
    if (fetchSite === 'same-origin') return { ok: true };
    return { ok: false, message: 'Request refused: send an Origin header that names this console.' };
  }
  const host = req.headers.get('host');
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return { ok: false, message: 'Cross-site request refused.' };
  }
  if (!host || originHost !== host) return { ok: false, message: 'Cross-site request refused.' };
  return { ok: true };
}
