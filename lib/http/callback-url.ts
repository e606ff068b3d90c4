/** Where to go after sign-in: a path on this console only, never another site. */
export function safeCallbackUrl(raw: string | undefined): string {
  if (!raw || !raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\') || raw.startsWith('/login')) return '/backup';
  // Browsers drop tab, CR and LF inside URLs ("/\t/evil.example" becomes "//evil.example"): refuse control characters.
  if (/[\u0000-\u001f\u007f]/.test(raw)) return '/backup';
  return raw;
}
