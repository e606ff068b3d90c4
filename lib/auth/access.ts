import { OTP_BACKUP_GUIDANCE, ROLE_LABELS, can, type Permission } from './roles';
import type { CurrentUser } from './current-user';

/** Why a user may not do something, in words for the user. */
const PERMISSION_WORDS: Record<Permission, string> = {
  'backup:read': 'read backup status and history',
  'storage:browse': 'browse storage locations',
  'backup:run': 'start backups',
  'backup:verify': 'verify backups',
  'backup:configure': 'change backup settings',
  'backup:restore': 'restore backups',
  'users:create': 'create user accounts',
  'users:manage': 'manage user accounts',
  'auth:configure': 'configure sign-in',
  'audit:read': 'read the audit trail',
  'devices:read': 'read managed devices and their backups',
  'devices:run': 'start device backups',
  'devices:download': 'download device backups',
  'devices:configure': 'change managed devices, their keys or the organisation backup configuration',
  'tokens:manage': 'issue or revoke API tokens',
  'alerts:configure': 'configure alerts',
};

const BACKUP_PERMISSIONS: Permission[] = [
  'backup:read',
  'storage:browse',
  'backup:run',
  'backup:verify',
  'backup:configure',
  'backup:restore',
  'devices:read',
  'devices:run',
  'devices:download',
  'devices:configure',
];

export type AccessDecision = { allowed: true } | { allowed: false; message: string };

export function decide(user: Pick<CurrentUser, 'role'>, permission: Permission): AccessDecision {
  if (can(user.role, permission)) return { allowed: true };
  if (user.role === 'otp' && BACKUP_PERMISSIONS.includes(permission)) {
    return { allowed: false, message: OTP_BACKUP_GUIDANCE };
  }
  return { allowed: false, message: `The ${ROLE_LABELS[user.role]} role cannot ${PERMISSION_WORDS[permission]}.` };
}
