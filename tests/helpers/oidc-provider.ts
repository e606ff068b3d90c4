import http from 'node:http';
import type { AddressInfo } from 'node:net';
// @ts-expect-error -- oidc-provider ships no type declarations; the little used here is typed below.
import ProviderUntyped from 'oidc-provider';
import { freePort } from './console-server';

type Claims = Record<string, unknown> & { sub: string };
type ProviderInstance = {
  callback(): http.RequestListener;
  on(event: 'server_error', listener: (ctx: unknown, err: Error) => void): void;
};
const Provider = ProviderUntyped as new (
  issuer: string,
  config: Record<string, unknown> & {
    findAccount(ctx: unknown, sub: string): Promise<{ accountId: string; claims(): Promise<Claims> }>;
  },
) => ProviderInstance;

/**
 * A real OpenID Connect provider (the npm package oidc-provider) on loopback,
 * for end-to-end sign-in tests. One confidential client (code flow, PKCE
 * required, client_secret_basic or _post), accounts whose claims include a
 * `groups` claim, and the package's own development interactions: a login
 * form that accepts any login (the login becomes the account id) and a
 * consent page with a "Continue" button.
 *
 * The console asks for "openid profile email" and reads the ID token only
 * (next-auth idToken: true), so `groups` travels with the profile scope and
 * the ID token carries every granted claim (conformIdTokenClaims: false).
 */
export type TestAccount = { name: string; email: string; groups: string[]; preferredUsername?: string };

export type OidcProviderHarness = {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Accounts by login; a login not listed signs in with no groups. */
  accounts: Record<string, TestAccount>;
  stop(): Promise<void>;
};

export async function startOidcProvider(opts: {
  redirectUris: string[];
  accounts: Record<string, TestAccount>;
  clientId?: string;
  clientSecret?: string;
}): Promise<OidcProviderHarness> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = opts.clientId ?? 'webconf-e2e';
  const clientSecret = opts.clientSecret ?? 'e2e-client-secret-0123456789abcdef';
  const accounts = opts.accounts;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: opts.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    pkce: { required: () => true },
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username', 'groups'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    scopes: ['openid', 'profile', 'email', 'groups'],
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
    cookies: { keys: ['e2e-cookie-key-not-secret-0123456789'] },
    async findAccount(_ctx, sub) {
      const a = accounts[sub];
      return {
        accountId: sub,
        async claims() {
          return {
            sub,
            preferred_username: a?.preferredUsername ?? sub,
            name: a?.name ?? sub,
            email: a?.email ?? `${sub}@idp.test`,
            email_verified: true,
            groups: a?.groups ?? [],
          };
        },
      };
    },
  });
  // A fault inside the provider would otherwise only show as a failed sign-in.
  provider.on('server_error', (_ctx, err) => process.stderr.write(`oidc-provider server_error: ${err.message}\n`));

  const server = http.createServer(provider.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  if ((server.address() as AddressInfo).port !== port) throw new Error('oidc-provider did not bind the chosen port');

  return {
    issuer,
    clientId,
    clientSecret,
    accounts,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
