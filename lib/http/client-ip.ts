/**
 * The client's address. The console's own server (server.ts) overwrites
 * x-forwarded-for with the socket's remote address on every request, so the
 * value here cannot be chosen by the client.
 */
export function clientIp(headers: Headers | { get(name: string): string | null }): string {
  return headers.get('x-forwarded-for')?.split(',')[0]?.trim() || 'unknown';
}
