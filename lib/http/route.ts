import { NextResponse, type NextRequest } from 'next/server';
import { z } from 'zod';
import { audit } from '../audit/audit';
import { decide } from '../auth/access';
import { bearerAuth, type TokenUser } from '../auth/bearer';
import { actorOf, currentUser, type CurrentUser } from '../auth/current-user';
import type { Permission } from '../auth/roles';
import { fieldErrorsOf } from '../auth/validated-action';
import type { Actor } from '../audit/audit';
import { isDbSuspendedError } from '../db/client';
import { exclusiveOperationRefusal, RESTORE_IN_PROGRESS } from '../db/errors';
import { AppError, ERROR_STATUS, GENERIC_FAILURE, type ErrorCode } from '../errors';
import { log } from '../log';
import { checkSameOrigin } from './same-origin';

/** A signed-in user (session cookie) or an API token (Authorization: Bearer). */
export type RouteUser = CurrentUser | TokenUser;
export type RouteContext<P> = { user: RouteUser; actor: Actor; req: NextRequest; params: P };

function problem(code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
  return NextResponse.json({ error: { code, message, ...extra } }, { status: ERROR_STATUS[code], headers: { 'Cache-Control': 'no-store' } });
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Wraps a route handler: who is asking (an API token in
 * "Authorization: Bearer", else the session cookie with a same-origin check
 * for state-changing methods against cross-site request forgery),
 * permission, and one error shape.
 * ZodError becomes 422 with per-field errors, AppError its own status, and
 * anything else a generic 500 with nothing from the inside.
 */
export function withAuth<P = Record<string, string>>(
  permission: Permission | null,
  handler: (ctx: RouteContext<P>) => Promise<Response | unknown>,
  opts: {
    name: string;
    /** false for background polling: it does not count as activity, and is not recorded in the audit trail. */
    touch?: boolean;
    /** Refused to API tokens: a signed-in person only (issuing tokens: a leaked token must not be able to mint its own replacement). */
    sessionOnly?: string;
  },
) {
  // Background polling (touch: false) repeats every few seconds; its refusals and failures would bury the trail, so they are not recorded.
  const record: typeof audit = (...args) => {
    if (opts.touch !== false) audit(...args);
  };
  return async (req: NextRequest, segment: { params: Promise<P> }): Promise<Response> => {
    let user: RouteUser | null;
    let bearer;
    try {
      // A bearer request is the token's alone: no cookie is read, and no same-origin check applies (a browser never sends the header by itself).
      bearer = bearerAuth(req.headers);
    } catch (caught) {
      if (isDbSuspendedError(caught)) return problem('conflict', RESTORE_IN_PROGRESS);
      throw caught;
    }
    if (bearer.present) {
      if (!bearer.ok) {
        // A known but revoked token is named in the audit trail; an unknown or malformed one is anonymous.
        const named = typeof bearer.detail.token === 'string' ? { id: null, username: `token:${bearer.detail.token}` } : null;
        audit(await actorOf(named), opts.name, 'denied', { detail: bearer.detail });
        return problem('unauthorized', bearer.message);
      }
      user = bearer.user;
      if (opts.sessionOnly) {
        audit(await actorOf(user), opts.name, 'denied', { detail: { reason: 'API token on a signed-in-only route' } });
        return problem('forbidden', opts.sessionOnly);
      }
    } else {
      if (UNSAFE.has(req.method)) {
        const origin = checkSameOrigin(req);
        if (!origin.ok) {
          record(await actorOf(null), opts.name, 'denied', { detail: { reason: 'cross-site request' } });
          return problem('forbidden', origin.message);
        }
      }
      try {
        user = await currentUser({ touch: opts.touch });
      } catch (caught) {
        // The session lives in the database, which a restore closes for the moment of its switch.
        if (isDbSuspendedError(caught)) return problem('conflict', RESTORE_IN_PROGRESS);
        throw caught;
      }
    }
    const actor = await actorOf(user);
    if (!user) return problem('unauthorized', 'Sign in to continue.');
    const decision = permission ? decide(user, permission) : ({ allowed: true } as const);
    if (!decision.allowed) {
      record(actor, opts.name, 'denied', { detail: { permission } });
      return problem('forbidden', decision.message);
    }
    try {
      const result = await handler({ user, actor, req, params: await segment.params });
      if (result instanceof Response) return result;
      return NextResponse.json(result ?? { ok: true }, { headers: { 'Cache-Control': 'no-store' } });
    } catch (caught) {
      const err = exclusiveOperationRefusal(caught) === 'restore' || isDbSuspendedError(caught) ? new AppError('conflict', RESTORE_IN_PROGRESS) : caught;
      if (err instanceof z.ZodError) return problem('unprocessable', 'The request has invalid fields.', { fields: fieldErrorsOf(err) });
      if (err instanceof AppError) {
        record(actor, opts.name, 'failure', { detail: { reason: err.message } });
        return problem(err.code, err.message, err.field ? { fields: { [err.field]: [err.message] } } : {});
      }
      log.error({ event: 'route.error', route: opts.name, err: (err as Error).message, stack: (err as Error).stack }, 'route handler failed');
      return problem('internal', GENERIC_FAILURE);
    }
  };
}

/** Parses a JSON body against a schema; a body that is not JSON is a 400 in words. */
export async function jsonBody<S extends z.ZodType>(req: NextRequest, schema: S): Promise<z.infer<S>> {
  if (!(req.headers.get('content-type') ?? '').includes('application/json')) {
    throw new AppError('bad_request', 'Send the request body as application/json.');
  }
  let raw: unknown;
  try {
    raw = await req.json();
  } catch {
    throw new AppError('bad_request', 'The request body is not valid JSON.');
  }
  return schema.parse(raw);
}
