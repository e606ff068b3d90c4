import crypto from 'node:crypto';
import { and, desc, eq, isNull, lt, or } from 'drizzle-orm';
import { audit, type Actor } from '../audit/audit';
import { db } from '../db/client';
import { apiTokens, type ApiToken } from '../db/schema';
import { AppError } from '../errors';
import type { OAuthRole } from './roles';
import { API_TOKEN_PREFIX, apiTokenSchema, type IssueTokenInput } from './schemas';

/**
 * API tokens for scripts and the command line. A token is "wct_" followed by
 * 32 random bytes in base64url; only its SHA-256 (hex) is stored, with its
 * first 12 characters ("wct_" and 8 more) to tell tokens apart in lists —
 * 48 bits of the 256, not enough to use it. The token itself is returned
 * once, when it is issued. A revoked token stays in the list (who revoked it
 * and when) and is refused from then on.
 */
const SHOWN_PREFIX = API_TOKEN_PREFIX.length + 8;
/** last_used_at is written at most this often per token: a script polling every second does not write every second. */
const LAST_USED_RESOLUTION_MS = 60_000;

export type ApiTokenView = {
  id: number;
  name: string;
  role: OAuthRole;
  prefix: string;
  createdBy: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  revokedBy: string | null;
};

function view(t: ApiToken): ApiTokenView {
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    prefix: t.prefix,
    createdBy: t.createdBy,
    createdAt: t.createdAt.toISOString(),
    lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
    revokedAt: t.revokedAt?.toISOString() ?? null,
    revokedBy: t.revokedBy,
  };
}

export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Newest first; revoked tokens too. */
export function listTokens(): ApiTokenView[] {
  return db().select().from(apiTokens).orderBy(desc(apiTokens.id)).all().map(view);
}

/** Issues a token. The answer holds the token: the only time it exists outside the caller's hands. */
export function issueToken(actor: Actor, input: IssueTokenInput): { token: string } & ApiTokenView {
  const token = API_TOKEN_PREFIX + crypto.randomBytes(32).toString('base64url');
  const row = db().transaction((tx) => {
    const clash = tx
      .select({ id: apiTokens.id })
      .from(apiTokens)
      .where(and(eq(apiTokens.name, input.name), isNull(apiTokens.revokedAt)))
      .get();
    if (clash) throw new AppError('conflict', `A token named "${input.name}" exists already; revoke it first or choose another name.`, { field: 'name' });
    return tx
      .insert(apiTokens)
      .values({ name: input.name, role: input.role, prefix: token.slice(0, SHOWN_PREFIX), tokenHash: hashToken(token), createdBy: actor.name, createdAt: new Date() })
      .returning()
      .get();
  });
  audit(actor, 'token.issue', 'success', { target: `token:${row.name}`, detail: { id: row.id, role: row.role, prefix: row.prefix } });
  return { token, ...view(row) };
}

export function revokeToken(actor: Actor, id: number): ApiTokenView {
  const d = db();
  const row = d.select().from(apiTokens).where(eq(apiTokens.id, id)).get();
  if (!row) throw new AppError('not_found', 'There is no such token.');
  if (row.revokedAt) throw new AppError('conflict', `The token "${row.name}" was revoked already.`);
  const revoked = d
    .update(apiTokens)
    .set({ revokedAt: new Date(), revokedBy: actor.name })
    .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
    .returning()
    .get();
  if (!revoked) throw new AppError('conflict', `The token "${row.name}" was revoked already.`);
  audit(actor, 'token.revoke', 'success', { target: `token:${row.name}`, detail: { id: row.id, prefix: row.prefix } });
  return view(revoked);
}

export type TokenCheck =
  | { ok: true; token: Pick<ApiToken, 'id' | 'name' | 'role' | 'prefix'> }
  | { ok: false; reason: 'malformed' | 'unknown' | 'revoked'; message: string; prefix?: string; name?: string };

/**
 * Checks a presented token. Looked up by its hash, so the comparison never
 * touches the token itself; a malformed one is refused before any lookup.
 * The messages are for the holder of the token and say what to do.
 */
export function checkToken(presented: string, now = Date.now()): TokenCheck {
  if (!apiTokenSchema.safeParse(presented).success) {
    return { ok: false, reason: 'malformed', message: 'The bearer token is not an API token of this console (they begin with "wct_"). Ask an admin for one.' };
  }
  const d = db();
  const row = d.select().from(apiTokens).where(eq(apiTokens.tokenHash, hashToken(presented))).get();
  if (!row) return { ok: false, reason: 'unknown', message: 'The API token is not known to this console. Ask an admin for a new one.' };
  if (row.revokedAt) {
    return {
      ok: false,
      reason: 'revoked',
      name: row.name,
      prefix: row.prefix,
      message: `The API token "${row.name}" was revoked (${row.revokedAt.toISOString().replace('T', ' ').slice(0, 19)} UTC). Ask an admin for a new one.`,
    };
  }
  d.update(apiTokens)
    .set({ lastUsedAt: new Date(now) })
    .where(and(eq(apiTokens.id, row.id), or(isNull(apiTokens.lastUsedAt), lt(apiTokens.lastUsedAt, new Date(now - LAST_USED_RESOLUTION_MS)))))
    .run();
  return { ok: true, token: { id: row.id, name: row.name, role: row.role, prefix: row.prefix } };
}
