import crypto from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { MANIFEST_NAME, manifestSchema, verifyManifestSignature, type Manifest, type ManifestMember } from './manifest';

/**
 * Reads a decrypted backup archive and checks everything it can: the
 * manifest comes first, parses, and carries a valid signature under the DMS;
 * the members follow in the manifest's order with the stated sizes and
 * SHA-256; nothing is missing and nothing extra. A restore passes `sink` to
 * receive each member's bytes while they are checked.
 */
export class BackupVerifyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupVerifyError';
  }
}

export type VerifiedBackup = { manifest: Manifest; signatureVerified: true; membersVerified: number; bytes: number };

const MAX_MANIFEST = 16 << 20;

async function readAll(stream: AsyncIterable<unknown>, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    n += (c as Buffer).length;
    if (n > limit) throw new BackupVerifyError('The manifest is too large.');
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts);
}

export async function verifyArchive(
  plaintext: Readable,
  dms: string,
  opts: {
    sink?: (member: ManifestMember) => Promise<Writable | null>;
    /** false: check names, order and sizes only (the engine's read-back, whose bytes AEAD already proved). */
    hashMembers?: boolean;
  } = {},
): Promise<VerifiedBackup> {
  const extract = tar.extract();
  const fed = pipeline(plaintext, extract as unknown as NodeJS.WritableStream);
  fed.catch(() => undefined);
  let manifest: Manifest | null = null;
  let index = 0;
  let bytes = 0;
  try {
    for await (const entry of extract) {
      const name = entry.header.name;
      if (!manifest) {
        if (name !== MANIFEST_NAME) throw new BackupVerifyError(`The archive does not start with ${MANIFEST_NAME}.`);
        let raw: unknown;
        try {
          raw = JSON.parse((await readAll(entry, MAX_MANIFEST)).toString('utf8'));
        } catch (err) {
          if (err instanceof BackupVerifyError) throw err;
          throw new BackupVerifyError('The manifest is not valid JSON.');
        }
        const parsed = manifestSchema.safeParse(raw);
        if (!parsed.success) throw new BackupVerifyError('The manifest does not have the expected fields.');
        if (!(await verifyManifestSignature(parsed.data, dms))) {
          throw new BackupVerifyError('The manifest signature does not verify with this Domain Master Secret.');
        }
        manifest = parsed.data;
        continue;
      }
      const expected = manifest.members[index];
      if (!expected) throw new BackupVerifyError(`The archive holds ${name}, which the manifest does not list.`);
      if (name !== expected.path) throw new BackupVerifyError(`Expected ${expected.path} but found ${name}.`);
      const hash = opts.hashMembers === false ? null : crypto.createHash('sha256');
      let size = 0;
      const sink = opts.sink ? await opts.sink(expected) : null;
      for await (const chunk of entry) {
        hash?.update(chunk as Buffer);
        size += (chunk as Buffer).length;
        if (sink && !sink.write(chunk)) await new Promise((r) => sink.once('drain', r));
      }
      if (sink) await new Promise<void>((resolve, reject) => sink.end((err?: Error | null) => (err ? reject(err) : resolve())));
      if (size !== expected.size) throw new BackupVerifyError(`${name} has ${size} bytes; the manifest says ${expected.size}.`);
      if (hash && hash.digest('hex') !== expected.sha256) throw new BackupVerifyError(`${name} does not match its SHA-256 in the manifest.`);
      bytes += size;
      index++;
    }
    await fed;
  } catch (err) {
    plaintext.destroy();
    extract.destroy();
    if (err instanceof BackupVerifyError) throw err;
    // Errors of the decrypting stream (damaged file, wrong DMS) keep their own words.
    if ((err as Error).name?.startsWith('Age')) throw err;
    throw new BackupVerifyError(`The archive cannot be read: ${(err as Error).message}`);
  }
  if (!manifest) throw new BackupVerifyError('The archive is empty.');
  if (index !== manifest.members.length) throw new BackupVerifyError(`The archive ends after ${index} of ${manifest.members.length} members.`);
  return { manifest, signatureVerified: true, membersVerified: index, bytes };
}

/**
 * The engine's read-back check, for a file whose every chunk the caller's
 * decryption authenticates: the archive must start with manifest.json
 * (tar header name and size), whose manifest parses and carries a valid
 * signature (`signatureValid`: under the DMS) with this many members, and the plaintext must
 * have exactly the expected length. Member data is counted, not parsed or
 * hashed again: AEAD already proves it is the data that was hashed.
 */
export async function verifyReadBack(
  plain: AsyncIterable<Buffer>,
  signatureValid: (m: Manifest) => Promise<boolean>,
  expected: { plainSize?: number; members: number }): Promise<Manifest> {
  let head = Buffer.alloc(0);
  let total = 0;
  let manifest: Manifest | null = null;
  let need = 512;
  for await (const chunk of plain) {
    total += chunk.length;
    if (manifest) continue;
    head = Buffer.concat([head, chunk]);
    if (head.length < need) continue;
    const name = head.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(head.subarray(124, 136).toString('ascii').replace(/\0.*$/s, '').trim(), 8);
    if (name !== MANIFEST_NAME || !Number.isSafeInteger(size) || size > MAX_MANIFEST) {
      throw new BackupVerifyError(`The archive does not start with ${MANIFEST_NAME}.`);
    }
    need = 512 + size;
    if (head.length < need) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(head.subarray(512, need).toString('utf8'));
    } catch {
      throw new BackupVerifyError('The manifest is not valid JSON.');
    }
    const parsed = manifestSchema.safeParse(raw);
    if (!parsed.success) throw new BackupVerifyError('The manifest does not have the expected fields.');
    if (!(await signatureValid(parsed.data))) throw new BackupVerifyError('The manifest signature does not verify with this Domain Master Secret.');
    if (parsed.data.members.length !== expected.members) throw new BackupVerifyError('The manifest does not list every member.');
    manifest = parsed.data;
    head = Buffer.alloc(0);
    // Without an expected size, the caller checks the rest (every chunk) itself.
    if (expected.plainSize === undefined) return manifest;
  }
  if (!manifest) throw new BackupVerifyError('The archive ends before its manifest.');
  if (expected.plainSize !== undefined && total !== expected.plainSize) throw new BackupVerifyError(`The archive has ${total} bytes; ${expected.plainSize} were written.`);
  return manifest;
}
