import { z } from 'zod';
import { CliError, EXIT } from './exit-codes';
import { apiErrorSchema } from './schemas';

/**
 * The console's JSON API as the command line sees it: every request carries
 * "Authorization: Bearer <token>"; an answer is JSON, or an error in the
 * console's one shape { error: { code, message, fields? } }, which becomes a
 * CliError with the console's own words and the exit code for its status.
 */
export type ApiAnswer<T> = { status: number; body: T; raw: unknown };

const TIMEOUT_MS = 30_000;

export class ConsoleApi {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  async call<S extends z.ZodType>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', pathname: string, schema: S, body?: unknown): Promise<ApiAnswer<z.infer<S>>> {
    const url = new URL(pathname, this.baseUrl.endsWith('/') ? this.baseUrl : `${this.baseUrl}/`);
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method,
        headers: { authorization: `Bearer ${this.token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'manual',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      throw new CliError(`The console at ${this.baseUrl} cannot be reached: ${reason(err)}.`, EXIT.unreachable);
    }
    const text = await res.text().catch(() => '');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new CliError(
        `The answer from ${this.baseUrl} to ${method} ${url.pathname} is not the console's JSON (HTTP ${res.status}${res.headers.get('content-type') ? `, ${res.headers.get('content-type')}` : ''}). Is WEBCONF_URL the console, and is it up to date?`,
        res.status === 401 || res.status === 403 ? EXIT.notAuthorised : res.status === 404 ? EXIT.failed : EXIT.unreachable,
      );
    }
    if (!res.ok) {
      const e = apiErrorSchema.safeParse(json);
      const message = e.success ? e.data.error.message : `The console answered HTTP ${res.status}.`;
      const fields = e.success && e.data.error.fields ? Object.entries(e.data.error.fields).map(([k, v]) => `  ${k}: ${v[0] ?? ''}`) : [];
      throw new CliError([message, ...fields].join('\n'), res.status === 401 || res.status === 403 ? EXIT.notAuthorised : EXIT.failed);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new CliError(`The console's answer to ${method} ${url.pathname} is not what this webconf expects (${parsed.error.issues[0]?.path.join('.') || 'body'}: ${parsed.error.issues[0]?.message}). Is the command line the same version as the console?`, EXIT.failed);
    }
    return { status: res.status, body: parsed.data, raw: json };
  }
}

/** Why a fetch failed, in words: undici hides the system error in `cause`. */
function reason(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `no answer in ${TIMEOUT_MS / 1000} s`;
  const code = e?.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused (is the console running, and is the port right?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the host name is not known';
  if (code === 'ECONNRESET') return 'the connection was closed';
  if (code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return `its TLS certificate is not trusted (${code}); point NODE_EXTRA_CA_CERTS at the console's certificate`;
  return e?.cause?.message ?? e?.message ?? String(err);
}
