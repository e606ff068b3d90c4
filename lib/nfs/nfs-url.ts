import { z } from 'zod';

/**
 * A share as users write it: nfs://host[:port]/path[?version=4|4.0|4.1|4.2]
 *   host     a name, an IPv4 address or a bracketed IPv6 address
 *   port     the NFS port (default 2049; NFSv4 needs neither rpcbind nor mountd)
 *   path     absolute, in the server's NFSv4 namespace (the export's pseudo path)
 *   version  the NFS minor version (default 4.1)
 * Parsed and refused before any connection is made.
 */
export type NfsVersion = '4.0' | '4.1' | '4.2';

export type NfsUrl = { host: string; port: number; path: string[]; version: NfsVersion; minor: 0 | 1 | 2; display: string };

export const nfsVersionSchema = z.enum(['4', '4.0', '4.1', '4.2']).transform((v) => (v === '4' ? '4.0' : v) as NfsVersion);

export class NfsUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NfsUrlError';
  }
}

const COMPONENT = /^[^/\0]{1,255}$/;

export function parseNfsUrl(input: string): NfsUrl {
  const text = input.trim();
  if (!text.toLowerCase().startsWith('nfs://')) throw new NfsUrlError('An NFS share is written nfs://server/path, for example nfs://10.0.0.5/backups.');
  // URL() would resolve "." and ".." away: the path is checked as written (less the tabs and newlines URL() drops anywhere).
  const rawPath = /^nfs:\/\/[^/?#]*([^?#]*)/i.exec(text.replace(/[\t\n\r]/g, ''))?.[1] ?? '';
  let rawParts: string[];
  try {
    rawParts = rawPath.split('/').map((p) => decodeURIComponent(p));
  } catch {
    throw new NfsUrlError('The path in the NFS address is not valid.');
  }
  if (rawParts.some((p) => p === '.' || p === '..')) throw new NfsUrlError('The path in the NFS address must not contain "." or ".." or empty parts.');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // The URL parser refuses ports past 65535 itself; say why.
    const port = /^nfs:\/\/(?:\[[^\]]*\]|[^/?#@[\]]*):(\d+)(?:[/?#]|$)/i.exec(text)?.[1];
    if (port !== undefined && Number(port) > 65535) throw new NfsUrlError('The port must be a number from 1 to 65535.');
    throw new NfsUrlError(`"${input}" is not a valid address. Write it as nfs://server[:port]/path.`);
  }
  if (url.username || url.password) throw new NfsUrlError('An NFS address does not carry a user name or password.');
  if (url.hash) throw new NfsUrlError('An NFS address has no #fragment.');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new NfsUrlError('The NFS address needs a server name or address.');
  const port = url.port ? Number(url.port) : 2049;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new NfsUrlError('The port must be a number from 1 to 65535.');
  for (const key of url.searchParams.keys()) {
    if (key !== 'version') throw new NfsUrlError(`Unknown option "${key}" in the NFS address (only version= is understood).`);
  }
  const v = nfsVersionSchema.safeParse(url.searchParams.get('version') ?? '4.1');
  if (!v.success) throw new NfsUrlError('The NFS version must be 4, 4.1 or 4.2.');
  let parts: string[];
  try {
    parts = decodeURIComponent(url.pathname).split('/').filter(Boolean);
  } catch {
    throw new NfsUrlError('The path in the NFS address is not valid.');
  }
  for (const p of parts) {
    if (p === '.' || p === '..' || !COMPONENT.test(p)) throw new NfsUrlError('The path in the NFS address must not contain "." or ".." or empty parts.');
  }
  const version = v.data;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    host,
    port,
    path: parts,
    version,
    minor: version === '4.0' ? 0 : version === '4.1' ? 1 : 2,
    display: `nfs://${hostPart}${port === 2049 ? '' : `:${port}`}/${parts.map(encodeURIComponent).join('/')}`,
  };
}

/** A path inside the share: "/"-separated, relative, no "." or "..". */
export function splitSharePath(p: string): string[] {
  const parts = p.split('/').filter(Boolean);
  for (const c of parts) {
    if (c === '.' || c === '..' || !COMPONENT.test(c)) throw new NfsUrlError(`"${p}" is not a valid path inside the share.`);
  }
  return parts;
}
