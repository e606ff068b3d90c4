import type { OAuthRole } from './roles';
import { checkToken } from './api-tokens';

/**
 * Bearer authentication for route handlers (never pages or server actions,
 * which stay cookie-only). `Authorization: Bearer <token>` makes the request
 * act as the token: its role, and the name "token:<name>" in the audit trail.
 * A browser never adds this header on its own, so such a request cannot be a
 * cross-site forgery riding on someone's session; cookies sent with it are
 * ignored.
 */
export type TokenUser = {
  id: null;
  username: `token:${string}`;
  displayName: string;
  kind: 'token';
  role: OAuthRole;
  tokenId: number;
  sessionId: null;
};

export type BearerResult =
  | { present: false }
  | { present: true; ok: true; user: TokenUser }
  | { present: true; ok: false; message: string; detail: Record<string, unknown> };

export function bearerAuth(headers: Headers, now = Date.now()): BearerResult {
  const header = headers.get('authorization');
  if (header === null) return { present: false };
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!m) {
    return {
      present: true,
      ok: false,
      message: 'Send the API token as "Authorization: Bearer <token>".',
      detail: { reason: 'malformed authorization header' },
    };
  }
  const check = checkToken(m[1]!, now);
  if (!check.ok) {
    return { present: true, ok: false, message: check.message, detail: { reason: `${check.reason} token`, ...(check.name ? { token: check.name, prefix: check.prefix } : {}) } };
  }
  const { id, name, role } = check.token;
  return { present: true, ok: true, user: { id: null, username: `token:${name}`, displayName: name, kind: 'token', role, tokenId: id, sessionId: null } };
}
