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
