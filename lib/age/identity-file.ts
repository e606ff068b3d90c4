import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AgeKeyError } from './errors';
import { MAX_IDENTITY_FILE_SIZE, VERSION_LINE } from './format';
import { parseX25519Identity, type X25519Identity } from './x25519-keys';

/**
 * Identity files as age-keygen writes them and `age -d -i FILE` reads them
 * (layout: format.ts "Keys"): "#" comment lines, blank lines, and one
 * secret key per other line.
 */

const PUBLIC_KEY_COMMENT = /^#\s*public key:\s*(\S*)\s*$/i;

/** The identities in an identity file's text. AgeKeyError (with the line) for anything else. */
export function parseIdentityFile(text: string): X25519Identity[] {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (body.trim().length === 0) throw new AgeKeyError('identity file', 'empty');
  if (body.startsWith(VERSION_LINE) || body.trimStart().startsWith('-----BEGIN AGE ENCRYPTED FILE-----')) {
    throw new AgeKeyError('identity file', 'encrypted-identity-file');
  }
  const identities: X25519Identity[] = [];
  /** The recipient a "# public key:" comment announced for the next key. */
  let announced: { recipient: string; line: number } | null = null;
  const lines = body.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = PUBLIC_KEY_COMMENT.exec(line);
      if (m) announced = { recipient: m[1]!, line: i + 1 };
      continue;
    }
    let identity: X25519Identity;
    try {
      identity = parseX25519Identity(line);
    } catch (err) {
      if (err instanceof AgeKeyError) throw new AgeKeyError('identity', err.reason, { line: i + 1, detail: err.detail });
      throw err;
    }
    if (announced && announced.recipient !== identity.recipient.toString()) {
      throw new AgeKeyError('identity file', 'public-key-mismatch', { line: announced.line });
    }
    announced = null;
    identities.push(identity);
  }
  if (identities.length === 0) throw new AgeKeyError('identity file', 'no-identity');
  return identities;
}

/** RFC 3339 in UTC to the second, as in "# created: 2026-01-02T03:04:05Z". */
function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The text age-keygen writes for this identity. It holds the secret key. */
export function formatIdentityFile(identity: X25519Identity, opts: { created?: Date } = {}): string {
  return [`# created: ${rfc3339(opts.created ?? new Date())}`, `# public key: ${identity.recipient.toString()}`, identity.exportSecretKey(), ''].join('\n');
}

/** Reads and parses an identity file (at most MAX_IDENTITY_FILE_SIZE bytes). */
export async function readIdentityFile(file: string): Promise<X25519Identity[]> {
  const handle = await fs.open(file, 'r');
  let text: string;
  try {
    const buf = Buffer.alloc(MAX_IDENTITY_FILE_SIZE + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, length, buf.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_IDENTITY_FILE_SIZE) throw new AgeKeyError('identity file', 'too-large', { detail: `${MAX_IDENTITY_FILE_SIZE / 1024} KiB` });
    }
    text = buf.toString('utf8', 0, length);
    buf.fill(0);
  } finally {
    await handle.close();
  }
  return parseIdentityFile(text);
}

/**
 * Writes the identity file for this identity at `file`, readable by its
 * owner only (0600), as age-keygen -o does: never replacing a file (EEXIST),
 * and never leaving a partial file under that name (written to a temporary
 * name in the same folder, synced, then linked to `file`).
 */
export async function writeIdentityFile(file: string, identity: X25519Identity, opts: { created?: Date } = {}): Promise<void> {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${crypto.randomBytes(6).toString('hex')}.partial`);
  const handle = await fs.open(temp, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(formatIdentityFile(identity, opts));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.link(temp, file);
  } finally {
    await fs.rm(temp, { force: true });
  }
  const d = await fs.open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
