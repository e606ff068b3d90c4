'use client';
import { useActionState } from 'react';
import { Field } from '@/app/ui/field';
import { FormMessage } from '@/app/ui/form-message';
import { SubmitButton } from '@/app/ui/submit-button';
import { saveOidcAction } from './actions';

type Current = {
  enabled: boolean;
  displayName: string;
  issuer: string;
  clientId: string;
  roleClaim: string;
  roleMapping: { admin: string[]; operator: string[]; support: string[] };
};

export function OidcForm({ current, callbackUrl }: { current: Current | undefined; callbackUrl: string }) {
  const [state, action] = useActionState(saveOidcAction, undefined);
  const v = state?.values;
  const e = state?.fieldErrors ?? {};
  const pick = (k: string, fallback: string) => v?.[k] ?? fallback;
  return (
    <form action={action} noValidate aria-labelledby="oidc-title" className="max-w-xl">
      <h2 id="oidc-title" className="mb-2 text-lg font-semibold">OpenID Connect provider</h2>
      <p className="mb-4 text-sm text-slate-600">
        Register this redirect URI at the provider: <code className="break-all rounded bg-slate-100 px-1" data-testid="redirect-uri">{callbackUrl}</code>
      </p>
      <FormMessage state={state} />
      <div className="mb-4 flex items-center gap-2">
        <input id="enabled" name="enabled" type="checkbox" value="on" defaultChecked={v ? v.enabled === 'on' : (current?.enabled ?? true)} className="h-4 w-4" />
        <label htmlFor="enabled" className="text-sm font-medium">Offer sign-in through this provider</label>
      </div>
      <Field name="displayName" label="Button label" defaultValue={pick('displayName', current?.displayName ?? 'Single sign-on')} errors={e.displayName} required />
      <Field name="issuer" label="Issuer URL" defaultValue={pick('issuer', current?.issuer ?? '')} errors={e.issuer} required hint="The provider's issuer; /.well-known/openid-configuration is read from it." />
      <Field name="clientId" label="Client id" defaultValue={pick('clientId', current?.clientId ?? '')} errors={e.clientId} required />
      <Field name="clientSecret" label="Client secret" type="password" autoComplete="off" errors={e.clientSecret}
        hint={current ? 'Stored sealed and never shown. Leave empty to keep the current secret.' : 'Stored sealed and never shown.'} />
      <Field name="roleClaim" label="Role claim" defaultValue={pick('roleClaim', current?.roleClaim ?? 'groups')} errors={e.roleClaim} required
        hint="The ID token or userinfo claim that carries groups or roles (a dotted name reaches into objects, e.g. realm_access.roles)." />
      <Field name="adminValues" label="Claim values for Admin" defaultValue={pick('adminValues', current?.roleMapping.admin.join(', ') ?? '')} errors={e.adminValues} hint="Comma separated." />
      <Field name="operatorValues" label="Claim values for Operator" defaultValue={pick('operatorValues', current?.roleMapping.operator.join(', ') ?? '')} errors={e.operatorValues} hint="Comma separated." />
      <Field name="supportValues" label="Claim values for Support" defaultValue={pick('supportValues', current?.roleMapping.support.join(', ') ?? '')} errors={e.supportValues} hint="Comma separated. A user matching none of them cannot sign in." />
      <SubmitButton>Save sign-in settings</SubmitButton>
    </form>
  );
}
