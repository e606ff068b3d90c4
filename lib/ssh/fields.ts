import net from 'node:net';

/**
 * The rules for the fields every SSH connection is given (host, user), in
 * words, shared by the zod schemas (schemas.ts) and lib/sources' address
 * parser. Null when fine, else why not.
 */

export const DEFAULT_SSH_PORT = 22;

const HOST_NAME = /^(?=.{1,253}$)(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

export function checkHost(host: string): string | null {
  if (host === '') return 'Enter the host name or address.';
  if (net.isIP(host)) return null;
  if (!HOST_NAME.test(host)) return `"${host}" is not a host name or address.`;
  return null;
}

export function checkUser(user: string): string | null {
  if (user === '') return 'Enter the user name to log in as.';
  if (user.length > 256) return 'The user name has at most 256 characters.';
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(user)) return 'The user name must not contain spaces or control characters.';
  return null;
}

/** Host names compare case-insensitively, and IPv6 addresses in their compressed form. */
export function normalizeHost(host: string): string {
  if (net.isIPv6(host)) return new URL(`http://[${host}]/`).hostname.slice(1, -1);
  return host.toLowerCase();
}
