import type { Actor } from '../audit/audit';
import { audit } from '../audit/audit';
import type { OAuthRole } from '../auth/roles';
import { seal, unseal } from '../crypto/seal';
import { AppError } from '../errors';
import { getSetting, putSetting } from '../settings/store';
import { oidcConfigSchema, type OidcConfig, type OidcForm } from './schemas';

const KEY = 'oidc';
const SECRET_PURPOSE = 'oidc.client-secret';

export function getOidcConfig(): OidcConfig | undefined {
  return getSetting(KEY, oidcConfigSchema);
}

/** The configuration without its secret, for pages. */
export function describeOidcConfig() {
  const c = getOidcConfig();
  if (!c) return undefined;
  const { clientSecretSealed: _s, ...rest } = c;
  return { ...rest, hasClientSecret: true };
}

export function oidcClientSecret(c: OidcConfig): string {
  return unseal(c.clientSecretSealed, SECRET_PURPOSE);
}

export function saveOidcConfig(actor: Actor, form: OidcForm): void {
  const existing = getOidcConfig();
  // No secret kept, or one sealed by another appliance (restored from its backup): it must be entered again.
  if (!form.clientSecret && (!existing || !oidcSecretOpensHere(existing))) {
    throw new AppError('unprocessable', 'Enter the client secret.', { field: 'clientSecret' });
  }
  const mapped = form.adminValues.length + form.operatorValues.length + form.supportValues.length;
  if (form.enabled && mapped === 0) {
    throw new AppError('unprocessable', 'Map at least one claim value to a role, or nobody can sign in.', { field: 'adminValues' });
  }
  putSetting(
    KEY,
    oidcConfigSchema,
    {
      enabled: form.enabled,
      displayName: form.displayName,
      issuer: form.issuer,
      clientId: form.clientId,
      clientSecretSealed: form.clientSecret ? seal(form.clientSecret, SECRET_PURPOSE) : existing!.clientSecretSealed,
      roleClaim: form.roleClaim,
      roleMapping: { admin: form.adminValues, operator: form.operatorValues, support: form.supportValues },
    },
    actor.name,
  );
  audit(actor, 'auth.oidc.configure', 'success', {
    target: form.issuer,
    detail: { enabled: form.enabled, clientId: form.clientId, roleClaim: form.roleClaim, secretChanged: Boolean(form.clientSecret) },
  });
}

/**
 * Maps the role claim to a role: the claim may be a string or an array of
 * strings (groups); admin wins over operator over support; no match, no role.
 * A dotted claim name reaches into nested objects (realm_access.roles).
 */
export function mapRole(claims: Record<string, unknown>, c: Pick<OidcConfig, 'roleClaim' | 'roleMapping'>): OAuthRole | null {
  let value: unknown = claims[c.roleClaim];
  if (value === undefined && c.roleClaim.includes('.')) {
    value = c.roleClaim.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), claims);
  }
  const values = new Set((Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string'));
  for (const role of ['admin', 'operator', 'support'] as const) {
    if (c.roleMapping[role].some((v) => values.has(v))) return role;
  }
  return null;
}

/** Whether a stored configuration's client secret opens with this appliance's seal key (not so after a restore from another appliance). */
export function oidcSecretOpensHere(c: OidcConfig): boolean {
  if (!c.clientSecretSealed) return false;
  try {
    unseal(c.clientSecretSealed, SECRET_PURPOSE);
    return true;
  } catch {
    return false;
  }
}
