/**
 * A small HTTP client with a cookie jar, speaking to the console as a browser
 * would: next-auth's CSRF token for sign-in, and the Origin header on writes.
 */
export class ConsoleClient {
  readonly cookies = new Map<string, string>();
  lastSetCookies: string[] = [];
  constructor(readonly baseUrl: string) {}

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async fetch(pathname: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (this.cookies.size) headers.cookie = this.cookieHeader();
    const res = await fetch(new URL(pathname, this.baseUrl), { ...init, headers, redirect: 'manual' });
    this.lastSetCookies = res.headers.getSetCookie();
    for (const c of this.lastSetCookies) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      if (!value || /max-age=0|expires=thu, 01 jan 1970/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  /** Signs in with a password; returns next-auth's answer ({ url } or { url with error }). */
  async signIn(username: string, password: string): Promise<{ ok: boolean; error: string | null; status: number }> {
    const csrf = (await (await this.fetch('/api/auth/csrf')).json()) as { csrfToken: string };
    const body = new URLSearchParams({ csrfToken: csrf.csrfToken, username, password, json: 'true', callbackUrl: '/backup' });
    const res = await this.fetch('/api/auth/callback/credentials', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.baseUrl },
      body: body.toString(),
    });
    const text = await res.text();
    let url = '';
    try {
      url = (JSON.parse(text) as { url: string }).url;
    } catch {
      url = res.headers.get('location') ?? '';
    }
    const error = url ? new URL(url, this.baseUrl).searchParams.get('error') : null;
    return { ok: !error && [...this.cookies.keys()].some((k) => k.endsWith('webconf.session')), error, status: res.status };
  }

  async json<T = unknown>(pathname: string, method = 'GET', body?: unknown, extra: Record<string, string> = {}): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = { ...extra };
    if (method !== 'GET') headers.origin ??= this.baseUrl;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await this.fetch(pathname, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as T };
  }
}
