import { redirect } from 'next/navigation';
import { audit } from '../audit/audit';
import { actorOf, currentUser, signInPath, type CurrentUser } from './current-user';
import { decide } from './access';
import type { Permission } from './roles';

export type PageAccess = { user: CurrentUser; allowed: true } | { user: CurrentUser; allowed: false; message: string };

/**
 * Every page calls this first. No session: to the sign-in page. A session
 * without the permission: the page renders the refusal (and the audit trail
 * records it), never the data.
 */
export async function pageAccess(permission: Permission | null, from: string): Promise<PageAccess> {
  const user = await currentUser();
  if (!user) redirect(await signInPath(from));
  if (!permission) return { user, allowed: true };
  const decision = decide(user, permission);
  if (decision.allowed) return { user, allowed: true };
  audit(await actorOf(user), 'page.view', 'denied', { target: from, detail: { permission } });
  return { user, allowed: false, message: decision.message };
}
