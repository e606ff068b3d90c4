/**
 * Sign-in errors travel as ?error=<code> (next-auth's codes and ours); only
 * these codes are ever shown, in these words: a crafted link cannot put its
 * own text on the console's sign-in page.
 */
export const SIGN_IN_ERRORS = {
  CredentialsSignin: 'Wrong username or password.',
  ThrottledAccount: 'Too many failed sign-ins for this account. Try again in an hour.',
  ThrottledAddress: 'Too many failed sign-ins from this address. Try again in an hour.',
  InvalidInput: 'Enter your username and password.',
  OidcNoRole: 'Your account at the identity provider has no role on this appliance. Ask an admin to map one of your claims to a role.',
  OAuthCallback: 'The identity provider did not complete the sign-in. Try again or ask an admin to check the provider settings.',
  OAuthSignin: 'The identity provider could not be reached. Try again or sign in with a password.',
  SessionRequired: 'Sign in to continue.',
  AccountDisabled: 'This account is disabled. Ask an admin to enable it.',
  SessionRevoked: 'Your session was ended: an admin changed your account (role, password or access), or you signed out elsewhere. Sign in again.',
  Default: 'Sign-in failed. Try again.',
} as const;

export type SignInErrorCode = keyof typeof SIGN_IN_ERRORS;

export function signInErrorMessage(code: string | null | undefined): string | undefined {
  if (!code) return undefined;
  return Object.hasOwn(SIGN_IN_ERRORS, code) ? SIGN_IN_ERRORS[code as SignInErrorCode] : SIGN_IN_ERRORS.Default;
}
