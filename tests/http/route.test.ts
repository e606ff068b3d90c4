import { NextRequest } from 'next/server';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { CurrentUser } from '@/lib/auth/current-user';
import { db } from '@/lib/db/client';
import { RESTORE_IN_PROGRESS } from '@/lib/db/errors';
import { AppError, GENERIC_FAILURE } from '@/lib/errors';

const session = vi.hoisted(() => ({ user: null as CurrentUser | null, suspended: false }));
vi.mock('@/lib/auth/current-user', async () => {
  const { DatabaseSuspendedError } = await import('@/lib/db/client');
  return {
  currentUser: async () => {
    if (session.suspended) throw new DatabaseSuspendedError('A restore is switching the console to the restored state.');
    return session.user;
  },
  actorOf: async (u: { id: number; username: string } | null) => (u ? { id: u.id, name: u.username, ip: '192.0.2.1' } : { id: null, name: 'anonymous', ip: '192.0.2.1' }),
  };
});

const { jsonBody, withAuth } = await import('@/lib/http/route');
const { issueToken, revokeToken } = await import('@/lib/auth/api-tokens');

const HOST = 'console.example.test:8443';
const admin: CurrentUser = { id: 1, username: 'admin1', displayName: null, kind: 'local', role: 'admin', sessionId: 's' };
const support: CurrentUser = { id: 3, username: 'sup', displayName: null, kind: 'local', role: 'support', sessionId: 's' };
const segment = { params: Promise.resolve({ id: '7' }) };

function request(method: string, headers: Record<string, string> = {}, body?: string) {
  return new NextRequest(`https://${HOST}/api/thing`, { method, headers: { host: HOST, ...headers }, body });
}
const sameOrigin = { origin: `https://${HOST}`, 'sec-fetch-site': 'same-origin' };

function audits(): { action: string; outcome: string; detail: string | null }[] {
  return db().$client.prepare('SELECT * FROM audit_events ORDER BY id').all() as never;
}

beforeEach(() => {
  session.user = admin;
  session.suspended = false;
  db().$client.exec('DELETE FROM audit_events');
});

describe('withAuth', () => {
  it('while a restore switches the database, the session check answers 409 in words, not a fault', async () => {
    session.suspended = true;
    const h = withAuth('backup:read', async () => ({ reached: true }), { name: 't' });
    const res = await h(request('GET'), segment);
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(RESTORE_IN_PROGRESS);
  });

  it('a write the restore triggers refuse is a 409 in words too', async () => {
    const h = withAuth('backup:read', async () => {
      throw Object.assign(new Error('webconf: a restore is in progress'), { code: 'SQLITE_CONSTRAINT_TRIGGER' });
    }, { name: 't' });
    const res = await h(request('GET'), segment);
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(RESTORE_IN_PROGRESS);
  });

  it('returns the handler\u2019s result as JSON, not cached, with params', async () => {
    const h = withAuth<{ id: string }>('backup:read', async ({ params, user }) => ({ id: params.id, who: user.username }), { name: 't' });
    const res = await h(request('GET'), segment);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ id: '7', who: 'admin1' });
  });

  it.each(['POST', 'PUT', 'PATCH', 'DELETE'])('%s from another site is refused before the session is even looked at', async (method) => {
    const fn = vi.fn();
    const res = await withAuth('backup:run', fn, { name: 'backup.run' })(request(method, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }), segment);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: { code: 'forbidden', message: 'Cross-site request refused.' } });
    expect(fn).not.toHaveBeenCalled();
    expect(audits()).toEqual([expect.objectContaining({ action: 'backup.run', outcome: 'denied' })]);
  });

  it('a POST without Origin or fetch metadata is refused', async () => {
    const fn = vi.fn();
    const res = await withAuth('backup:run', fn, { name: 'backup.run' })(request('POST'), segment);
    expect(res.status).toBe(403);
    expect(fn).not.toHaveBeenCalled();
  });

  it('GET needs no Origin', async () => {
    const res = await withAuth('backup:read', async () => ({ ok: 1 }), { name: 't' })(request('GET'), segment);
    expect(res.status).toBe(200);
  });

  it('no session → 401', async () => {
    session.user = null;
    const fn = vi.fn();
    const res = await withAuth('backup:read', fn, { name: 't' })(request('GET'), segment);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: { code: 'unauthorized', message: 'Sign in to continue.' } });
    expect(fn).not.toHaveBeenCalled();
  });

  it('missing permission → 403 with the role\u2019s message, audited', async () => {
    session.user = support;
    const fn = vi.fn();
    const res = await withAuth('backup:run', fn, { name: 'backup.run' })(request('POST', sameOrigin), segment);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: { code: 'forbidden', message: 'The Support role cannot start backups.' } });
    expect(fn).not.toHaveBeenCalled();
    expect(audits()).toEqual([expect.objectContaining({ action: 'backup.run', outcome: 'denied' })]);
  });

  it('a ZodError from the handler → 422 with per-field errors', async () => {
    const schema = z.object({ prefix: z.string().max(2, 'Too long.') });
    const res = await withAuth('backup:configure', async ({ req }) => jsonBody(req, schema), { name: 't' })(
      request('POST', { ...sameOrigin, 'content-type': 'application/json' }, JSON.stringify({ prefix: 'abc' })),
      segment,
    );
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({ error: { code: 'unprocessable', message: 'The request has invalid fields.', fields: { prefix: ['Too long.'] } } });
  });

  it('jsonBody: wrong content type or broken JSON → 400 in words', async () => {
    const schema = z.object({});
    const h = withAuth('backup:configure', async ({ req }) => jsonBody(req, schema), { name: 't' });
    const wrongType = await h(request('POST', { ...sameOrigin, 'content-type': 'text/plain' }, '{}'), segment);
    expect(wrongType.status).toBe(400);
    expect((await wrongType.json()).error.message).toBe('Send the request body as application/json.');
    const broken = await h(request('POST', { ...sameOrigin, 'content-type': 'application/json' }, '{nope'), segment);
    expect(broken.status).toBe(400);
    expect((await broken.json()).error.message).toBe('The request body is not valid JSON.');
  });

  it('an AppError → its status, message and field', async () => {
    const res = await withAuth(
      'users:manage',
      async () => {
        throw new AppError('not_found', 'That account does not exist (any more).', { field: 'id' });
      },
      { name: 'account.delete' },
    )(request('DELETE', sameOrigin), segment);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: { code: 'not_found', message: 'That account does not exist (any more).', fields: { id: ['That account does not exist (any more).'] } },
    });
    expect(audits().at(-1)).toMatchObject({ action: 'account.delete', outcome: 'failure' });
  });

  it('any other error → 500 with the generic message and nothing from the inside', async () => {
    const res = await withAuth(
      'backup:read',
      async () => {
        throw new Error('ENOENT /var/lib/webconf/secret');
      },
      { name: 't' },
    )(request('GET'), segment);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal', message: GENERIC_FAILURE } });
    expect(text).not.toContain('ENOENT');
  });

  it('a Response from the handler is passed through', async () => {
    const res = await withAuth('backup:read', async () => new Response('raw', { status: 202 }), { name: 't' })(request('GET'), segment);
    expect(res.status).toBe(202);
    expect(await res.text()).toBe('raw');
  });
});

describe('withAuth with an API token (Authorization: Bearer)', () => {
  const issuer = { id: 1, name: 'admin1', ip: null };
  beforeEach(() => {
    db().$client.exec('DELETE FROM api_tokens');
    // No session at all: the token alone decides.
    session.user = null;
  });

  it('acts as the token: its role, "token:<name>" in the audit trail, no user id', async () => {
    const t = issueToken(issuer, { name: 'ci', role: 'operator' });
    let seen: unknown;
    const h = withAuth('backup:read', async ({ user, actor }) => ((seen = { user, actor }), { ok: true }), { name: 't' });
    const res = await h(request('GET', { authorization: `Bearer ${t.token}` }), segment);
    expect(res.status).toBe(200);
    expect(seen).toMatchObject({ user: { kind: 'token', role: 'operator', username: 'token:ci', tokenId: t.id, id: null }, actor: { id: null, name: 'token:ci' } });
    const denied = await withAuth('backup:configure', async () => ({}), { name: 'cfg' })(request('GET', { authorization: `Bearer ${t.token}` }), segment);
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { error: { message: string } }).error.message).toBe('The Operator role cannot change backup settings.');
    expect(audits().at(-1)).toMatchObject({ action: 'cfg', outcome: 'denied' });
  });

  it('needs no same-origin proof on writes (a browser never adds the header by itself)', async () => {
    const t = issueToken(issuer, { name: 'w', role: 'admin' });
    const h = withAuth('backup:configure', async () => ({ done: true }), { name: 't' });
    const res = await h(request('POST', { authorization: `Bearer ${t.token}`, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }), segment);
    expect(res.status).toBe(200);
  });

  it('a bearer request ignores the session: a support token with an admin cookie is support', async () => {
    session.user = admin;
    const t = issueToken(issuer, { name: 's', role: 'support' });
    const res = await withAuth('backup:configure', async () => ({}), { name: 't' })(request('GET', { authorization: `Bearer ${t.token}` }), segment);
    expect(res.status).toBe(403);
  });

  it('a revoked, unknown or malformed token → 401 in words, audited, handler never run', async () => {
    const t = issueToken(issuer, { name: 'old', role: 'admin' });
    revokeToken(issuer, t.id);
    let ran = false;
    const h = withAuth('backup:read', async () => ((ran = true), {}), { name: 'probe' });
    const cases: [string, RegExp][] = [
      [`Bearer ${t.token}`, /^The API token "old" was revoked/],
      [`Bearer wct_${'A'.repeat(43)}`, /^The API token is not known to this console/],
      ['Bearer not-a-token', /^The bearer token is not an API token of this console/],
      [`Basic ${Buffer.from('a:b').toString('base64')}`, /^Send the API token as "Authorization: Bearer <token>"/],
      ['Bearer', /^Send the API token as/],
    ];
    for (const [header, message] of cases) {
      db().$client.exec('DELETE FROM audit_events');
      const res = await h(request('POST', { authorization: header, ...sameOrigin }), segment);
      expect(res.status, header).toBe(401);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(message);
      expect(audits(), header).toMatchObject([{ action: 'probe', outcome: 'denied' }]);
    }
    expect(ran).toBe(false);
    db().$client.exec('DELETE FROM audit_events');
    await h(request('GET', { authorization: `Bearer ${t.token}` }), segment);
    // A known token is named in the audit trail even when revoked.
    expect(db().$client.prepare('SELECT actor_name, detail FROM audit_events').all()).toEqual([
      { actor_name: 'token:old', detail: JSON.stringify({ reason: 'revoked token', token: 'old', prefix: t.prefix }) },
    ]);
  });

  it('without the header, cookies work as before (and writes still need the same origin)', async () => {
    session.user = admin;
    const h = withAuth('backup:read', async ({ user }) => ({ who: user.username }), { name: 't' });
    expect(await (await h(request('GET'), segment)).json()).toEqual({ who: 'admin1' });
    expect((await h(request('POST'), segment)).status).toBe(403);
  });
});
