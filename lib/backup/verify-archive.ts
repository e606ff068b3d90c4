import crypto from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { MANIFEST_NAME, manifestSchema, verifyManifestSignature, type Manifest, type ManifestMember } from './manifest';
import { TarFormatError, TarWalker, type TarEntry } from './tar-walk';
import type { BackupKeyCache } from './key-cache';

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

/**
 * Receives a member's bytes while they are checked (a restore's staging), or null to skip it.
 * The bytes given to its write() are lent until that write's callback: the local path reuses
 * their memory for the next windows at once (no copy), so a sink that keeps them copies them.
 */
export type MemberSink = (member: ManifestMember) => Promise<Writable | null>;

/** A member's bytes in a piece of the archive: [start, end) in the piece, and whether the member ends there. */
export type ArchiveSpan = [start: number, end: number, ends: boolean];

type Delivery = { op: 'open'; member: ManifestMember } | { op: 'write'; start: number; end: number } | { op: 'end' };

/** Settles once `sink` drained; rejects if it fails or closes first, or the signal aborts. */
function drained(sink: Writable, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (err?: unknown) => {
      sink.off('drain', onDrain);
      sink.off('error', onError);
      sink.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onError = (err: Error) => done(err);
    const onClose = () => done(sink.errored ?? new Error('a member sink closed before its member was written'));
    const onAbort = () => done(signal!.reason);
    sink.on('drain', onDrain);
    sink.on('error', onError);
    sink.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Writes `bytes` to `sink` and settles once the sink is done with them (its
 * write callback ran: a file sink has written them), not merely once they
 * are buffered; rejects if it fails or closes first, or the signal aborts.
 * For bytes in memory that is reused as soon as the delivery settles.
 */
function written(sink: Writable, bytes: Buffer, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const done = (err?: unknown) => {
      if (settled) return;
      settled = true;
      // After a failed write the stream still emits its 'error': the listener stays to take it.
      if (!err) sink.off('error', onError);
      sink.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onError = (err: Error) => done(err);
    const onClose = () => done(sink.errored ?? new Error('a member sink closed before its member was written'));
    const onAbort = () => done(signal!.reason);
    sink.on('error', onError);
    sink.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    sink.write(bytes, (err) => done(err ?? undefined));
  });
}

/** Ends `sink`; settles once it finished, rejects if it fails instead. */
function finished(sink: Writable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    sink.once('error', onError);
    sink.end(() => {
      sink.off('error', onError);
      if (sink.errored) reject(sink.errored);
      else resolve();
    });
  });
}

const unreadable = (err: unknown) => (err instanceof TarFormatError ? new BackupVerifyError(`The archive cannot be read: ${err.message}.`) : err);

/**
 * Checks a decrypted backup archive fed as pieces in order, from wherever
 * they are (a stream: verifyArchive below; shared memory: verify-local.ts):
 * the first entry is manifest.json, whose manifest parses and carries a
 * valid signature under the DMS; the members follow in the manifest's order
 * with the stated sizes, as regular files; nothing is missing and nothing
 * extra. The members' SHA-256 are the caller's to compute, from the spans
 * feed() answers (in member order, one ending span per member, also for a
 * member of 0 bytes); end() compares them with the manifest.
 *
 * A sink gets each member's bytes in order, with backpressure: feed()'s
 * `delivered` settles once the piece's bytes went to the sinks (with
 * `reused`, for pieces in memory that is reused: once the sinks are done
 * with them, not just holding them), so a slow sink slows the caller. No sink is opened before the manifest's signature
 * verified. Nothing is verified until end() resolves. After a failure
 * elsewhere the caller calls abort(): a sink still open is destroyed.
 */
export class ArchiveCheck {
  private readonly walker = new TarWalker();
  private manifest: Manifest | null = null;
  private manifestParts: Buffer[] | null = null;
  private signature: Promise<void> | null = null;
  /** The member whose entry is open (-1: the manifest's). */
  private index = -1;
  private started = false;
  private bytes = 0;
  private delivering: Promise<void> = Promise.resolve();
  private sink: Writable | null = null;
  /** The first failure, kept: feed(), end() and every later delivery fail with it. */
  private failure: { error: unknown } | null = null;

  constructor(
    private readonly dms: string,
    private readonly o: { sink?: MemberSink; reused?: boolean; signal?: AbortSignal; keyCache?: BackupKeyCache } = {},
  ) {}

  private fail(error: unknown): never {
    this.failure ??= { error };
    throw this.failure.error;
  }

  private entry(e: TarEntry, deliveries: Delivery[]): void {
    if (!this.started) {
      this.started = true;
      if (e.name !== MANIFEST_NAME || e.type !== '0') this.fail(new BackupVerifyError(`The archive does not start with ${MANIFEST_NAME}.`));
      if (e.size > MAX_MANIFEST) this.fail(new BackupVerifyError('The manifest is too large.'));
      this.manifestParts = [];
      return;
    }
    const expected = this.manifest!.members[++this.index];
    if (!expected) this.fail(new BackupVerifyError(`The archive holds ${e.name}, which the manifest does not list.`));
    if (e.name !== expected.path) this.fail(new BackupVerifyError(`Expected ${expected.path} but found ${e.name}.`));
    if (e.type !== '0') this.fail(new BackupVerifyError(`${e.name} is not a regular file in the archive.`));
    if (e.size !== expected.size) this.fail(new BackupVerifyError(`${e.name} has ${e.size} bytes; the manifest says ${expected.size}.`));
    deliveries.push({ op: 'open', member: expected });
  }

  private manifestRead(): void {
    let raw: unknown;
    try {
      raw = JSON.parse(Buffer.concat(this.manifestParts!).toString('utf8'));
    } catch {
      this.fail(new BackupVerifyError('The manifest is not valid JSON.'));
    }
    this.manifestParts = null;
    const parsed = manifestSchema.safeParse(raw);
    if (!parsed.success) this.fail(new BackupVerifyError('The manifest does not have the expected fields.'));
    this.manifest = parsed.data;
    // Checked meanwhile (scrypt on the thread pool); a bad signature fails the next feed().
    this.signature = verifyManifestSignature(parsed.data, this.dms, this.o.keyCache?.manifests).then((ok) => {
      if (!ok) this.fail(new BackupVerifyError('The manifest signature does not verify with this Domain Master Secret.'));
    });
    this.signature.catch(() => undefined);
  }

  /** The archive's next bytes: the spans of member data in them, and when they reached the sinks. */
  feed(piece: Buffer): { spans: ArchiveSpan[]; delivered: Promise<void> } {
    if (this.failure) throw this.failure.error;
    let events;
    try {
      events = this.walker.feed(piece);
    } catch (err) {
      this.fail(unreadable(err));
    }
    const spans: ArchiveSpan[] = [];
    const deliveries: Delivery[] = [];
    /** Whether the last span is the open member's. */
    let spanOpen = false;
    for (const ev of events) {
      if (ev.kind === 'entry') {
        this.entry(ev.entry, deliveries);
        spanOpen = false;
      } else if (ev.kind === 'data') {
        if (this.manifestParts) {
          this.manifestParts.push(Buffer.from(piece.subarray(ev.start, ev.end)));
          continue;
        }
        spans.push([ev.start, ev.end, false]);
        spanOpen = true;
        this.bytes += ev.end - ev.start;
        deliveries.push({ op: 'write', start: ev.start, end: ev.end });
      } else if (this.manifestParts) {
        this.manifestRead();
      } else {
        if (spanOpen) spans[spans.length - 1]![2] = true;
        else spans.push([0, 0, true]);
        spanOpen = false;
        deliveries.push({ op: 'end' });
      }
    }
    if (!this.o.sink || deliveries.length === 0) return { spans, delivered: Promise.resolve() };
    const delivered = this.delivering.then(() => this.deliver(piece, deliveries));
    this.delivering = delivered.catch(() => undefined);
    delivered.catch(() => undefined);
    return { spans, delivered };
  }

  private async deliver(piece: Buffer, deliveries: Delivery[]): Promise<void> {
    try {
      for (const d of deliveries) {
        if (this.failure) throw this.failure.error;
        this.o.signal?.throwIfAborted();
        if (d.op === 'open') {
          await this.signature;
          this.sink = (await this.o.sink!(d.member)) ?? null;
        } else if (d.op === 'write') {
          if (!this.sink) continue;
          const bytes = piece.subarray(d.start, d.end);
          if (this.o.reused) await written(this.sink, bytes, this.o.signal);
          else if (!this.sink.write(bytes)) await drained(this.sink, this.o.signal);
        } else if (this.sink) {
          await finished(this.sink);
          this.sink = null;
        }
      }
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * The archive ended: resolves with what was verified once the structure is
   * complete, the signature verified, every sink finished and `digests` (the
   * members' SHA-256, in member order, from the spans) match the manifest.
   */
  async end(digests: string[]): Promise<VerifiedBackup> {
    if (this.failure) throw this.failure.error;
    try {
      this.walker.end();
    } catch (err) {
      this.fail(unreadable(err));
    }
    const manifest = this.manifest;
    if (!manifest) this.fail(new BackupVerifyError('The archive is empty.'));
    const done = this.index + 1;
    if (done !== manifest.members.length) this.fail(new BackupVerifyError(`The archive ends after ${done} of ${manifest.members.length} members.`));
    await this.signature;
    await this.delivering;
    const failed = this.failure as { error: unknown } | null;
    if (failed) throw failed.error;
    for (const [i, m] of manifest.members.entries()) {
      if (digests[i] !== m.sha256) this.fail(new BackupVerifyError(`${m.path} does not match its SHA-256 in the manifest.`));
    }
    return { manifest, signatureVerified: true, membersVerified: done, bytes: this.bytes };
  }

  /** Stops after a failure elsewhere: no more deliveries, and a sink still open is destroyed with `error`. */
  abort(error: unknown): void {
    this.failure ??= { error };
    const sink = this.sink;
    this.sink = null;
    sink?.destroy(error instanceof Error ? error : new Error(String(error)));
  }
}

/**
 * Checks a decrypted backup archive from a stream (ArchiveCheck), hashing
 * the members here as their bytes pass. A restore passes `sink` to receive
 * each member's bytes while they are checked. Errors of the stream (a
 * damaged age file, a wrong DMS) keep their own words, other failures of
 * the stream become "The archive cannot be read: ..."; a sink's own errors
 * are passed on as they are.
 */
export async function verifyArchive(
  plaintext: Readable,
  dms: string,
  opts: { sink?: MemberSink; signal?: AbortSignal; keyCache?: BackupKeyCache } = {},
): Promise<VerifiedBackup> {
  const check = new ArchiveCheck(dms, { sink: opts.sink, signal: opts.signal, keyCache: opts.keyCache });
  const digests: string[] = [];
  let hash: crypto.Hash | null = null;
  /** Whether a failure now would be the stream's. */
  let reading = true;
  try {
    for await (const chunk of plaintext) {
      reading = false;
      const piece = chunk as Buffer;
      const { spans, delivered } = check.feed(piece);
      for (const [start, end, ends] of spans) {
        hash ??= crypto.createHash('sha256');
        hash.update(piece.subarray(start, end));
        if (ends) {
          digests.push(hash.digest('hex'));
          hash = null;
        }
      }
      await delivered;
      reading = true;
    }
    reading = false;
    return await check.end(digests);
  } catch (err) {
    plaintext.destroy();
    check.abort(err);
    if (!reading || err instanceof BackupVerifyError || (err as Error).name?.startsWith('Age')) throw err;
    throw new BackupVerifyError(`The archive cannot be read: ${(err as Error).message}`);
  }
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
