/** Where to go after sign-in: a path on this console only, never another site. */
export function safeCallbackUrl(raw: string | undefined): string {
  if (!raw || !raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\') || raw.startsWith('/login')) return '/backup';
  return raw;
}
