import { and, eq } from 'drizzle-orm';
import { audit, type Actor } from '../audit/audit';
import { db } from '../db/client';
import { sshKnownHosts, type SshKnownHost } from '../db/schema';
import { AppError } from '../errors';
import { normalizeHost } from '../ssh/fields';
import { pinHostKeySchema } from './schemas';

/**
 * Pinned SSH host keys (table ssh_known_hosts: one key per host and port).
 * A key is pinned only by pinHostKey, after an administrator compared the
 * fingerprint probeHostKey showed with the one the host's owner gave
 * (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the host). Nothing
 * else writes the table: a fetch that meets another key refuses and leaves
 * the pin as it is. Hosts are stored normalized (lower case, compressed IPv6).
 */
export function pinnedHostKey(host: string, port: number): SshKnownHost | null {
  return (
    db()
      .select()
      .from(sshKnownHosts)
      .where(and(eq(sshKnownHosts.host, normalizeHost(host)), eq(sshKnownHosts.port, port)))
      .get() ?? null
  );
}

/**
 * Pins (or, for a key that changed on purpose, re-pins) the host key of
 * host:port after an administrator confirmed its fingerprint. Audited as
 * ssh.host_key.pin, with the replaced fingerprint when there was one.
 * Bad arguments are an AppError (bad_request) and change nothing.
 */
export function pinHostKey(host: string, port: number, keyType: string, fingerprint: string, actor: Actor): SshKnownHost {
  const parsed = pinHostKeySchema.safeParse({ host, port, keyType, fingerprint });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AppError('bad_request', issue.message, { field: String(issue.path[0] ?? '') || undefined });
  }
  const v = parsed.data;
  const target = `${v.host.includes(':') ? `[${v.host}]` : v.host}:${v.port}`;
  const previous = pinnedHostKey(v.host, v.port);
  const row = { host: v.host, port: v.port, keyType: v.keyType, fingerprint: v.fingerprint, pinnedBy: actor.name, pinnedAt: new Date() };
  const saved = db()
    .insert(sshKnownHosts)
    .values(row)
    .onConflictDoUpdate({ target: [sshKnownHosts.host, sshKnownHosts.port], set: { keyType: row.keyType, fingerprint: row.fingerprint, pinnedBy: row.pinnedBy, pinnedAt: row.pinnedAt } })
    .returning()
    .get();
  audit(actor, 'ssh.host_key.pin', 'success', {
    target,
    detail: {
      keyType: v.keyType,
      fingerprint: v.fingerprint,
      ...(previous && previous.fingerprint !== v.fingerprint ? { replaced: { keyType: previous.keyType, fingerprint: previous.fingerprint, pinnedBy: previous.pinnedBy } } : {}),
    },
  });
  return saved;
}
