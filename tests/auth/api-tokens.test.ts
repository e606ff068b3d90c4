import crypto from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { checkToken, hashToken, issueToken, listTokens, revokeToken } from '@/lib/auth/api-tokens';
import { issueTokenSchema } from '@/lib/auth/schemas';
import { db } from '@/lib/db/client';
import { AppError } from '@/lib/errors';

const admin = { id: 1, name: 'admin1', ip: '192.0.2.1' };

function rows(): { name: string; token_hash: string; prefix: string; last_used_at: number | null; revoked_at: number | null }[] {
  return db().$client.prepare('SELECT * FROM api_tokens ORDER BY id').all() as never;
}

beforeEach(() => {
  db().$client.exec('DELETE FROM api_tokens; DELETE FROM audit_events');
});

describe('API tokens', () => {
  it('issues "wct_" + 32 random bytes, stores only the SHA-256 and a short prefix, and lists it without the token', () => {
    const t = issueToken(admin, { name: 'ci', role: 'operator' });
    expect(t.token).toMatch(/^wct_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(t.token.slice(4), 'base64url')).toHaveLength(32);
    const [row] = rows();
    expect(row!.token_hash).toBe(crypto.createHash('sha256').update(t.token).digest('hex'));
    expect(row!.prefix).toBe(t.token.slice(0, 12));
    expect(JSON.stringify(db().$client.prepare('SELECT * FROM api_tokens').all())).not.toContain(t.token.slice(12));
    const listed = listTokens();
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ name: 'ci', role: 'operator', prefix: t.token.slice(0, 12), createdBy: 'admin1', lastUsedAt: null, revokedAt: null });
    expect(JSON.stringify(listed)).not.toContain(t.token);
    const events = db().$client.prepare("SELECT * FROM audit_events WHERE action = 'token.issue'").all() as { detail: string }[];
    expect(events).toHaveLength(1);
    expect(events[0]!.detail).not.toContain(t.token);
  });

  it('two tokens are never the same, and an active name cannot be issued twice (field error, nothing added)', () => {
    const a = issueToken(admin, { name: 'a', role: 'support' });
    const b = issueToken(admin, { name: 'b', role: 'support' });
    expect(a.token).not.toBe(b.token);
    let caught: unknown;
    try {
      issueToken(admin, { name: 'a', role: 'admin' });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(AppError);
    expect((caught as AppError).field).toBe('name');
    expect(rows()).toHaveLength(2);
    revokeToken(admin, a.id);
    expect(issueToken(admin, { name: 'a', role: 'admin' }).name).toBe('a');
  });

  it('checks a token: its role and name; unknown, malformed and revoked ones refused in words', () => {
    const t = issueToken(admin, { name: 'cli', role: 'support' });
    expect(checkToken(t.token)).toEqual({ ok: true, token: { id: t.id, name: 'cli', role: 'support', prefix: t.prefix } });
    const unknown = `wct_${crypto.randomBytes(32).toString('base64url')}`;
    expect(checkToken(unknown)).toMatchObject({ ok: false, reason: 'unknown' });
    expect(checkToken('hello')).toMatchObject({ ok: false, reason: 'malformed' });
    expect(checkToken(`${t.token}x`)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(checkToken(hashToken(t.token))).toMatchObject({ ok: false, reason: 'malformed' });
    revokeToken({ ...admin, name: 'admin2' }, t.id);
    const r = checkToken(t.token);
    expect(r).toMatchObject({ ok: false, reason: 'revoked', name: 'cli' });
    expect(r.ok ? '' : r.message).toMatch(/^The API token "cli" was revoked \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)\. Ask an admin for a new one\.$/);
    expect(listTokens()[0]).toMatchObject({ revokedBy: 'admin2' });
  });

  it('records the last use at most once a minute', () => {
    const t = issueToken(admin, { name: 'poller', role: 'support' });
    const t0 = Date.parse('2026-03-01T10:00:00Z');
    checkToken(t.token, t0);
    expect(rows()[0]!.last_used_at).toBe(t0);
    checkToken(t.token, t0 + 30_000);
    expect(rows()[0]!.last_used_at).toBe(t0);
    checkToken(t.token, t0 + 61_000);
    expect(rows()[0]!.last_used_at).toBe(t0 + 61_000);
  });

  it('revoking twice or an unknown id is refused in words', () => {
    const t = issueToken(admin, { name: 'x', role: 'admin' });
    revokeToken(admin, t.id);
    expect(() => revokeToken(admin, t.id)).toThrow('The token "x" was revoked already.');
    expect(() => revokeToken(admin, 9999)).toThrow('There is no such token.');
  });

  it('the issue schema names the field at fault', () => {
    const r = issueTokenSchema.safeParse({ name: ' ', role: 'otp' });
    expect(r.success).toBe(false);
    const fields = Object.fromEntries(r.error!.issues.reverse().map((i) => [i.path[0], i.message])); // the first message per field
    expect(fields).toEqual({ name: 'Enter a name for the token.', role: 'Choose a role: admin, operator or support.' });
    expect(issueTokenSchema.safeParse({ name: 'has space', role: 'admin' }).success).toBe(false);
  });
});
