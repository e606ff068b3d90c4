import type { Role } from '../db/schema';

/**
 * What each role may do. The OTP user may only create OAuth user accounts;
 * everything backup-related is refused to it with the seed's guidance.
 */
export const PERMISSIONS = [
  'backup:read', // status, history, backup details
  'storage:browse', // storage browser
  'backup:run', // start a manual backup
  'backup:verify', // verify a backup file (quick or full); reading results is backup:read
  'backup:configure', // DMS, prefix, schedule, retention, storage target
  'backup:restore', // dry-run and restore, upload or fetch a backup file
  'users:create',
  'users:manage', // list, delete, remove the OTP user
  'auth:configure', // OpenID Connect provider
  'audit:read',
  'devices:read', // managed devices, their backup status and the organisation's backup configuration (secrets never)
  'devices:run', // start device backups (one, a selection, all), cancel a run
  'devices:download', // download a device backup (the encrypted file)
  'devices:configure', // add, change, approve and remove devices, pin host keys, set keys and the organisation configuration
  'tokens:manage', // issue and revoke API tokens
  'alerts:configure', // alert channels (e-mail, webhook, syslog), Send test, the reminder interval and the channels' delivery state
] as const;

export type Permission = (typeof PERMISSIONS)[number];

const READ: Permission[] = ['backup:read', 'storage:browse', 'devices:read'];

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  otp: ['users:create'],
  support: READ,
  operator: [...READ, 'backup:run', 'backup:verify', 'devices:run', 'devices:download'],
  admin: PERMISSIONS,
};

export const OAUTH_ROLES = ['admin', 'operator', 'support'] as const;
export type OAuthRole = (typeof OAUTH_ROLES)[number];

export const ROLE_LABELS: Record<Role, string> = {
  otp: 'OTP User',
  admin: 'Admin',
  operator: 'Operator',
  support: 'Support',
};

export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}

/** The seed's guidance, shown whenever the OTP user reaches for anything backup-related. */
export const OTP_BACKUP_GUIDANCE =
  'To create a backup, make sure not to be logged into Webconf as an OTP User. Create an OAuth User account, log in as OAuth User and remove the OTP User.';
