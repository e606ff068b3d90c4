import { beforeEach, describe, expect, it } from 'vitest';
import type { Actor } from '@/lib/audit/audit';
import { db } from '@/lib/db/client';
import { AppError } from '@/lib/errors';
import { describeOidcConfig, getOidcConfig, mapRole, oidcClientSecret, saveOidcConfig } from '@/lib/oidc/config';
import { oidcFormSchema, type OidcForm } from '@/lib/oidc/schemas';
import { SealError, unseal } from '@/lib/crypto/seal';

const ADMIN: Actor = { id: 1, name: 'admin1', ip: '192.0.2.1' };
const SECRET = 'Sup3r-S3cret-Client-Value-7f9a';

/** What the form posts (all strings, as FormData gives them). */
const RAW = {
  enabled: 'on',
  displayName: 'Corporate SSO',
  issuer: 'https://login.example.com/realms/main/',
  clientId: 'webconf',
  clientSecret: SECRET,
  roleClaim: 'groups',
  adminValues: 'webconf-admins',
  operatorValues: 'ops, backup-ops',
  supportValues: 'helpdesk\nsupport',
};

function form(over: Partial<Record<keyof typeof RAW, string | undefined>> = {}): OidcForm {
  return oidcFormSchema.parse({ ...RAW, ...over });
}

function issuesOf(over: Partial<Record<keyof typeof RAW, string | undefined>>): { path: string; message: string }[] {
  const r = oidcFormSchema.safeParse({ ...RAW, ...over });
  return r.success ? [] : r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

function rawSettingsRow(): { key: string; value: string; updated_by: string } | undefined {
  return db().$client.prepare("SELECT * FROM settings WHERE key = 'oidc'").get() as never;
}

function allRowsText(): string {
  const c = db().$client;
  return JSON.stringify([c.prepare('SELECT * FROM settings').all(), c.prepare('SELECT * FROM audit_events').all()]);
}

beforeEach(() => {
  db().$client.exec('DELETE FROM settings; DELETE FROM audit_events;');
});

describe('oidcFormSchema', () => {
  it('parses a complete form: checkbox, trimmed issuer, value lists', () => {
    expect(form()).toEqual({
      enabled: true,
      displayName: 'Corporate SSO',
      issuer: 'https://login.example.com/realms/main',
      clientId: 'webconf',
      clientSecret: SECRET,
      roleClaim: 'groups',
      adminValues: ['webconf-admins'],
      operatorValues: ['ops', 'backup-ops'],
      supportValues: ['helpdesk', 'support'],
    });
  });

  it('an unchecked box is disabled; a missing secret is empty', () => {
    const f = form({ enabled: undefined, clientSecret: undefined });
    expect(f.enabled).toBe(false);
    expect(f.clientSecret).toBe('');
  });

  it.each(['not a url', 'ftp://login.example.com', 'javascript:alert(1)', 'https://', 'file:///etc/passwd'])('issuer %j is refused with the URL message', (issuer) => {
    expect(issuesOf({ issuer })).toEqual([{ path: 'issuer', message: 'Enter an http(s) URL, e.g. https://login.example.com/realms/main.' }]);
  });

  it('an http issuer is accepted (lab providers), trailing slashes dropped', () => {
    expect(form({ issuer: 'http://127.0.0.1:9000//' }).issuer).toBe('http://127.0.0.1:9000');
  });

  it.each([
    ['issuer', '', 'Enter the issuer URL.'],
    ['issuer', '   ', 'Enter the issuer URL.'],
    ['displayName', '', 'Enter the name shown on the sign-in button.'],
    ['clientId', ' ', 'Enter the client id.'],
    ['roleClaim', '', 'Enter the claim that carries the role, e.g. groups.'],
  ] as const)('empty %s → %j', (field, value, message) => {
    expect(issuesOf({ [field]: value })[0]).toEqual({ path: field, message });
  });

  it('bounds lengths', () => {
    expect(issuesOf({ displayName: 'x'.repeat(41) })).toEqual([{ path: 'displayName', message: 'At most 40 characters.' }]);
    expect(issuesOf({ clientSecret: 'x'.repeat(501) })).toEqual([{ path: 'clientSecret', message: 'At most 500 characters.' }]);
  });

  it('refuses a claim name with odd characters', () => {
    expect(issuesOf({ roleClaim: 'groups; drop' })).toEqual([{ path: 'roleClaim', message: 'A claim name has letters, digits and _ . : / - only.' }]);
  });

  it('refuses markup in claim values', () => {
    expect(issuesOf({ adminValues: '<script>' })).toEqual([{ path: 'adminValues', message: 'Claim values cannot contain <, > or ".' }]);
  });
});

describe('saveOidcConfig', () => {
  it('stores the client secret only sealed', () => {
    saveOidcConfig(ADMIN, form());
    const row = rawSettingsRow()!;
    expect(row).toBeDefined();
    expect(row.value).not.toContain(SECRET);
    expect(row.value).not.toContain(Buffer.from(SECRET).toString('base64'));
    expect(row.updated_by).toBe('admin1');
    const stored = JSON.parse(row.value);
    expect(stored).not.toHaveProperty('clientSecret');
    expect(stored.clientSecretSealed).toMatch(/^v1\./);
    expect(oidcClientSecret(getOidcConfig()!)).toBe(SECRET);
  });

  it('the sealed secret is bound to its purpose', () => {
    saveOidcConfig(ADMIN, form());
    expect(() => unseal(getOidcConfig()!.clientSecretSealed, 'backup.key')).toThrow(SealError);
  });

  it('the secret appears in no stored row (settings or audit)', () => {
    saveOidcConfig(ADMIN, form());
    expect(allRowsText()).not.toContain(SECRET);
    const audit = db().$client.prepare("SELECT * FROM audit_events WHERE action = 'auth.oidc.configure'").get() as { detail: string; target: string };
    expect(audit.target).toBe('https://login.example.com/realms/main');
    expect(JSON.parse(audit.detail)).toMatchObject({ secretChanged: true, clientId: 'webconf' });
  });

  it('an empty secret keeps the stored one; other fields change', () => {
    saveOidcConfig(ADMIN, form());
    const sealedBefore = getOidcConfig()!.clientSecretSealed;
    saveOidcConfig(ADMIN, form({ clientSecret: '', clientId: 'webconf-2', adminValues: 'root-admins' }));
    const after = getOidcConfig()!;
    expect(after.clientSecretSealed).toBe(sealedBefore);
    expect(oidcClientSecret(after)).toBe(SECRET);
    expect(after.clientId).toBe('webconf-2');
    expect(after.roleMapping.admin).toEqual(['root-admins']);
    const lastAudit = db().$client.prepare('SELECT detail FROM audit_events ORDER BY id DESC').get() as { detail: string };
    expect(JSON.parse(lastAudit.detail).secretChanged).toBe(false);
  });

  it('a new secret replaces the old one', () => {
    saveOidcConfig(ADMIN, form());
    saveOidcConfig(ADMIN, form({ clientSecret: 'another-secret-value' }));
    expect(oidcClientSecret(getOidcConfig()!)).toBe('another-secret-value');
    expect(rawSettingsRow()!.value).not.toContain('another-secret-value');
  });

  it('the first save without a secret fails on the clientSecret field and stores nothing', () => {
    let caught: unknown;
    try {
      saveOidcConfig(ADMIN, form({ clientSecret: '' }));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AppError);
    expect(caught).toMatchObject({ code: 'unprocessable', field: 'clientSecret', message: 'Enter the client secret.' });
    expect(rawSettingsRow()).toBeUndefined();
    expect(getOidcConfig()).toBeUndefined();
  });

  it('enabling with no role mapping at all is refused (nobody could sign in)', () => {
    expect(() => saveOidcConfig(ADMIN, form({ adminValues: '', operatorValues: '', supportValues: ' , ' }))).toThrow(
      expect.objectContaining({ code: 'unprocessable', field: 'adminValues' }),
    );
    expect(rawSettingsRow()).toBeUndefined();
  });

  it('a disabled provider may be saved without mappings', () => {
    saveOidcConfig(ADMIN, form({ enabled: undefined, adminValues: '', operatorValues: '', supportValues: '' }));
    expect(getOidcConfig()).toMatchObject({ enabled: false, roleMapping: { admin: [], operator: [], support: [] } });
  });

  it('describeOidcConfig leaves the secret out', () => {
    expect(describeOidcConfig()).toBeUndefined();
    saveOidcConfig(ADMIN, form());
    const d = describeOidcConfig()!;
    expect(d).not.toHaveProperty('clientSecretSealed');
    expect(d).not.toHaveProperty('clientSecret');
    expect(d.hasClientSecret).toBe(true);
    expect(JSON.stringify(d)).not.toContain(SECRET);
  });

  it('a stored value that no longer matches the schema is treated as absent', () => {
    db().$client.prepare("INSERT INTO settings (key, value, updated_at) VALUES ('oidc', ?, ?)").run(JSON.stringify({ enabled: 'yes' }), Date.now());
    expect(getOidcConfig()).toBeUndefined();
  });
});

describe('mapRole', () => {
  const config = { roleClaim: 'groups', roleMapping: { admin: ['admins'], operator: ['ops'], support: ['help'] } };

  it.each([
    [['help', 'ops', 'admins'], 'admin'],
    [['ops', 'help'], 'operator'],
    [['help'], 'support'],
    [['admins'], 'admin'],
  ] as const)('array claim %j → %s (admin > operator > support)', (groups, role) => {
    expect(mapRole({ groups: [...groups] }, config)).toBe(role);
  });

  it('a string claim is one value', () => {
    expect(mapRole({ groups: 'ops' }, config)).toBe('operator');
    // Not a substring match.
    expect(mapRole({ groups: 'ops-team' }, config)).toBeNull();
    expect(mapRole({ groups: 'admins ops' }, config)).toBeNull();
  });

  it('matching is exact and case-sensitive', () => {
    expect(mapRole({ groups: ['Admins', 'ADMINS'] }, config)).toBeNull();
  });

  it('no match, missing claim or non-string values → null', () => {
    expect(mapRole({ groups: ['others'] }, config)).toBeNull();
    expect(mapRole({}, config)).toBeNull();
    expect(mapRole({ groups: [] }, config)).toBeNull();
    expect(mapRole({ groups: [1, null, { admins: true }, ['admins']] }, config)).toBeNull();
    expect(mapRole({ groups: null }, config)).toBeNull();
    expect(mapRole({ roles: ['admins'] }, config)).toBeNull();
  });

  it('several values for one role, any of them counts', () => {
    const c = { roleClaim: 'groups', roleMapping: { admin: ['a1', 'a2'], operator: [], support: [] } };
    expect(mapRole({ groups: ['x', 'a2'] }, c)).toBe('admin');
  });

  it('a dotted claim reaches into nested objects', () => {
    const c = { roleClaim: 'realm_access.roles', roleMapping: { admin: ['admins'], operator: ['ops'], support: [] } };
    expect(mapRole({ realm_access: { roles: ['offline_access', 'ops'] } }, c)).toBe('operator');
    expect(mapRole({ realm_access: { roles: 'admins' } }, c)).toBe('admin');
    expect(mapRole({ realm_access: 'admins' }, c)).toBeNull();
    expect(mapRole({ realm_access: null }, c)).toBeNull();
    expect(mapRole({}, c)).toBeNull();
  });

  it('a claim literally named with a dot wins over the nested path', () => {
    const c = { roleClaim: 'a.b', roleMapping: { admin: ['admins'], operator: ['ops'], support: [] } };
    expect(mapRole({ 'a.b': ['ops'], a: { b: ['admins'] } }, c)).toBe('operator');
  });

  it('deeply nested paths work; prototype names do not leak', () => {
    const c = { roleClaim: 'x.y.z', roleMapping: { admin: [], operator: [], support: ['s'] } };
    expect(mapRole({ x: { y: { z: ['s'] } } }, c)).toBe('support');
    const proto = { roleClaim: 'constructor.name', roleMapping: { admin: ['Object'], operator: [], support: [] } };
    expect(mapRole({}, proto)).toBeNull();
  });
});

describe('issuer transport', () => {
  const base = { displayName: 'SSO', clientId: 'webconf', roleClaim: 'groups', adminValues: 'a', operatorValues: '', supportValues: '' };
  it('requires https, except for a provider on this machine', async () => {
    const { oidcFormSchema } = await import('@/lib/oidc/schemas');
    const plainRemote = oidcFormSchema.safeParse({ ...base, issuer: 'http://login.example.com/realms/main' });
    expect(plainRemote.success).toBe(false);
    expect(plainRemote.error!.issues[0]!.message).toMatch(/https:\/\//);
    expect(oidcFormSchema.safeParse({ ...base, issuer: 'https://login.example.com/realms/main' }).success).toBe(true);
    expect(oidcFormSchema.safeParse({ ...base, issuer: 'http://127.0.0.1:9000' }).success).toBe(true);
    expect(oidcFormSchema.safeParse({ ...base, issuer: 'http://localhost:9000' }).success).toBe(true);
  });
});
