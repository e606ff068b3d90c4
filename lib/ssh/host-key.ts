import crypto from 'node:crypto';

/**
 * SSH host keys as OpenSSH shows them. A host key travels as a "key blob"
 * (RFC 4253 §6.6): string key-type, then the type's public fields. Its
 * fingerprint, as `ssh-keygen -lf` and ssh's "The authenticity of host …"
 * prompt print it, is "SHA256:" + base64 of SHA-256(blob) without the "="
 * padding: always 43 characters after the colon.
 */
export type HostKey = {
  /** The blob's own type: ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa, … (an RSA key is ssh-rsa whichever signature it makes). */
  keyType: string;
  fingerprint: string;
};

export const FINGERPRINT_FORM = /^SHA256:[A-Za-z0-9+/]{43}$/;

export function hostKeyOf(blob: Buffer): HostKey {
  return { keyType: blobKeyType(blob), fingerprint: fingerprintOf(blob) };
}

export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The type string at the start of a key blob. */
export function blobKeyType(blob: Buffer): string {
  if (blob.length < 4) throw new Error('host key blob too short');
  const len = blob.readUInt32BE(0);
  if (len < 1 || len > 64 || 4 + len > blob.length) throw new Error('host key blob malformed');
  return blob.subarray(4, 4 + len).toString('latin1');
}

/**
 * The server host key algorithms the client offers, in its order of preference:
 * the algorithms for `preferredKeyType` first (so that a host with several keys
 * presents the pinned one, as OpenSSH's client does with known_hosts), then
 * ssh2's defaults. The server picks the first of these it has a key for.
 */
export function hostKeyAlgorithms(preferredKeyType?: string): string[] {
  const all = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  if (!preferredKeyType) return all;
  const first = preferredKeyType === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : all.filter((a) => a === preferredKeyType);
  return [...first, ...all.filter((a) => !first.includes(a))];
}

/** Normalizes a fingerprint the user typed or pasted: "SHA256:" + 43 base64 characters; null if it is not one. */
export function normalizeFingerprint(text: string): string | null {
  let t = text.trim();
  if (/^sha256:/i.test(t)) t = `SHA256:${t.slice(7)}`;
  else t = `SHA256:${t}`;
  t = t.replace(/=+$/, '');
  return FINGERPRINT_FORM.test(t) ? t : null;
}
