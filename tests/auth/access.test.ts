import { describe, expect, it } from 'vitest';
import { decide } from '@/lib/auth/access';
import type { CurrentUser } from '@/lib/auth/current-user';
import { OAUTH_ROLES, OTP_BACKUP_GUIDANCE, PERMISSIONS, ROLE_LABELS, ROLE_PERMISSIONS, can, type Permission } from '@/lib/auth/roles';
import type { Role } from '@/lib/db/schema';

/** The permission table, written out independently of lib/auth/roles.ts. */
const EXPECTED: Record<Role, Permission[]> = {
  otp: ['users:create'],
  support: ['backup:read', 'storage:browse', 'devices:read'],
  operator: ['backup:read', 'storage:browse', 'backup:run', 'backup:verify', 'devices:read', 'devices:run', 'devices:download'],
  admin: [
    'backup:read',
    'storage:browse',
    'backup:run',
    'backup:verify',
    'backup:configure',
    'backup:restore',
    'users:create',
    'users:manage',
    'auth:configure',
    'audit:read',
    'devices:read',
    'devices:run',
    'devices:download',
    'devices:configure',
    'tokens:manage',
    'alerts:configure',
  ],
};
const ROLES = Object.keys(EXPECTED) as Role[];
const BACKUP: Permission[] = [
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

function userWith(role: Role): CurrentUser {
  return { id: 1, username: `${role}-user`, displayName: null, kind: role === 'otp' ? 'otp' : 'local', role, sessionId: 'sid' };
}

describe('roles', () => {
  it('knows exactly the sixteen permissions', () => {
    expect([...PERMISSIONS].sort()).toEqual([...EXPECTED.admin].sort());
  });

  it('OAuth roles are admin, operator and support (never otp)', () => {
    expect([...OAUTH_ROLES]).toEqual(['admin', 'operator', 'support']);
  });

  for (const role of ROLES) {
    describe(role, () => {
      it.each(PERMISSIONS.map((p) => [p, EXPECTED[role].includes(p)] as const))('%s → %s', (permission, allowed) => {
        expect(can(role, permission)).toBe(allowed);
      });
      it('has no permission beyond the table', () => {
        expect([...ROLE_PERMISSIONS[role]].sort()).toEqual([...EXPECTED[role]].sort());
      });
    });
  }
});

describe('decide', () => {
  it('allows what the role may do', () => {
    for (const role of ROLES) {
      for (const permission of EXPECTED[role]) {
        expect(decide(userWith(role), permission)).toEqual({ allowed: true });
      }
    }
  });

  it.each(BACKUP)('the OTP user refused %s gets exactly the seed guidance', (permission) => {
    expect(decide(userWith('otp'), permission)).toEqual({ allowed: false, message: OTP_BACKUP_GUIDANCE });
  });

  it('the guidance is the seed text, word for word', () => {
    expect(OTP_BACKUP_GUIDANCE).toBe(
      'To create a backup, make sure not to be logged into Webconf as an OTP User. Create an OAuth User account, log in as OAuth User and remove the OTP User.',
    );
  });

  it('the OTP user refused a non-backup permission is told its role, not the backup guidance', () => {
    const d = decide(userWith('otp'), 'users:manage');
    expect(d).toEqual({ allowed: false, message: 'The OTP User role cannot manage user accounts.' });
    expect(decide(userWith('otp'), 'audit:read')).toEqual({ allowed: false, message: 'The OTP User role cannot read the audit trail.' });
  });

  it.each([
    ['support', 'backup:run', 'The Support role cannot start backups.'],
    ['support', 'backup:verify', 'The Support role cannot verify backups.'],
    ['support', 'backup:configure', 'The Support role cannot change backup settings.'],
    ['support', 'users:create', 'The Support role cannot create user accounts.'],
    ['operator', 'backup:configure', 'The Operator role cannot change backup settings.'],
    ['operator', 'backup:restore', 'The Operator role cannot restore backups.'],
    ['operator', 'auth:configure', 'The Operator role cannot configure sign-in.'],
    ['operator', 'users:manage', 'The Operator role cannot manage user accounts.'],
    ['operator', 'alerts:configure', 'The Operator role cannot configure alerts.'],
  ] as const)('%s refused %s names the role', (role, permission, message) => {
    expect(decide(userWith(role), permission)).toEqual({ allowed: false, message });
  });

  it('every refusal of a non-OTP role names that role and never carries the OTP guidance', () => {
    for (const role of ROLES.filter((r) => r !== 'otp')) {
      for (const permission of PERMISSIONS.filter((p) => !EXPECTED[role].includes(p))) {
        const d = decide(userWith(role), permission);
        expect(d.allowed).toBe(false);
        if (!d.allowed) {
          expect(d.message).toMatch(new RegExp(`^The ${ROLE_LABELS[role]} role cannot \\S`));
          expect(d.message).not.toBe(OTP_BACKUP_GUIDANCE);
        }
      }
    }
  });
});
