import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import { AgeHeaderError, AgeMacError, AgeNoMatchError, openFileKey, type Header } from '../age';
import { CHUNK_SIZE, DEFAULT_LOG_N, ENCRYPTED_CHUNK_SIZE, MAX_HEADER_SIZE, PAYLOAD_NONCE_SIZE, SCRYPT_TYPE, TAG_SIZE } from '../age/format';
import { parseHeader } from '../age/header';
import { openChunk } from '../age/chunks';
import { derivePayloadKey } from '../age/stream';
import { TAR_BLOCK, archiveSizeFor } from './archive';
import { MANIFEST_NAME, manifestSchema, verifyManifestSignature, type Manifest, type ManifestMember } from './manifest';
import { StorageError } from '../storage/errors';
import type { StorageTarget } from '../storage/types';
import type { BackupKeyCache } from './key-cache';

/**
 * "Backup Details": what a backup file is and holds, read from its start
 * only — never the whole file, so that the answer costs the same for a
 * 1 MiB and a 1 GiB backup (one scrypt of the age header, ~0.8 s, and a
 * few hundred KiB of reads). The file's layout (age/format.ts, archive.ts):
 *
 *   [age header][16-byte nonce][chunk 0][chunk 1] ... [last chunk]
 *                               └── plaintext: POSIX tar ──────────┘
 *   tar:   [512-byte ustar header "manifest.json"][manifest JSON, padded
 *           with spaces to whole 64 KiB chunks][next member] ...
 *
 * What is read, in order:
 *   1. stat (size, modified time);
 *   2. the first FIRST_READ bytes (192 KiB, or the whole file if smaller):
 *      the header (at most 64 KiB by the format), the nonce and chunk 0;
 *   3. the chunks that hold the rest of the manifest, if it spills past
 *      them — the tar header says how long it is, and a manifest longer
 *      than MAX_MANIFEST_BYTES (16 MiB, as verify-archive.ts) is refused,
 *      so no call reads more than about 16.1 MiB (MAX_DETAILS_READ).
 * Each chunk is opened on its own: the file's size says which chunk is the
 * last (every chunk but the last is exactly 65552 bytes), so the
 * last-chunk flag is known without reading ahead, and a file cut short
 * anywhere inside what is read fails to authenticate. The chunks after the
 * manifest are not read, so damage there is not seen here (verify reads
 * the whole file); nor is the file's SHA-256 computed — the backup history
 * holds the one recorded when it was written.
 *
 * The file's exact length is not checked against anything here, but it is
 * computed: `expectedSizeBytes` is the size of the age file of the archive
 * the manifest describes (its members' tar headers and data, then the
 * encryption's 16 bytes per chunk), which a complete file has exactly
 * (Quick verify compares them). With `checkEnd` the last chunk of a file
 * of that length is also read and authenticated as the last one (64 KiB
 * more): a damaged end is seen without reading what lies between.
 *
 * The DMS unwraps the file key (scrypt), the header MAC is checked, the
 * manifest is parsed with manifestSchema and its signature checked with the
 * DMS. A file made with another DMS cannot be opened at all (the DMS is the
 * age passphrase): that is an answer (`dms: 'other'`), not an error. Anything
 * else that goes wrong is a BackupDetailsError in words. No secret (DMS,
 * file key) is logged or returned.
 */

/** What is read first: header (≤ 64 KiB) + nonce + chunk 0, with room to spare. */
const FIRST_READ = 192 * 1024;
/**
 * A manifest longer than this is refused: the same limit as the full
 * verification's (verify-archive.ts), so details never refuse a file that
 * verifies. The engine's manifests take ~150 bytes per member (16 MiB is
 * ~100 000 files); one of a few hundred members fits in chunk 0.
 */
export const MAX_MANIFEST_BYTES = 16 << 20;
/** Results are kept this long per (target, name, size, modified time, DMS). */
const CACHE_MS = 60_000;
const CACHE_ENTRIES = 256;

export type BackupPartKind = ManifestMember['kind'];

export type BackupPartDetails = {
  kind: BackupPartKind;
  /** "Firmware configuration", "System configuration", "Internal database". */
  label: string;
  /** Whether the manifest says the backup took this part. */
  included: boolean;
  files: number;
  bytes: number;
};

/** Facts from the storage target alone. */
type FileFacts = {
  fileName: string;
  sizeBytes: number;
  /** ISO 8601, or null when the target does not say. */
  modifiedAt: string | null;
};

export type BackupDetails =
  | (FileFacts & {
      /** The file opened with this appliance's DMS. */
      dms: 'this';
      /** When the backup was made, as its manifest says (ISO 8601). */
      createdAt: string;
      appliance: { id: string; name: string; firmwareVersion: string };
      format: string;
      formatVersion: number;
      contents: {
        parts: BackupPartDetails[];
        /** Files in the archive (configuration files and the database copy). */
        members: number;
        /** Sum of the members' sizes. */
        dataBytes: number;
        database: { engine: string; integrityCheck: string };
        /** What the backup deliberately left out, in the manifest's words. */
        excluded: string[];
      };
      /** The manifest's HMAC under the DMS: 'invalid' means it was altered or signed with another key. */
      signature: 'verified' | 'invalid';
      /** The size a complete file of this manifest has (the age file of the archive it describes); `sizeBytes` differs when the file was cut short or had data added. */
      expectedSizeBytes: number;
    })
  | (FileFacts & {
      /** The file is an age passphrase file this DMS does not open: made with another Domain Master Secret. */
      dms: 'other';
      message: string;
    });

export type BackupDetailsCode =
  /** The file does not exist. */
  | 'not_found'
  /** Not an age passphrase file, or no manifest first, or a manifest that does not parse. */
  | 'not_a_backup'
  /** A backup whose header or manifest chunks fail authentication, or that is cut short. */
  | 'damaged'
  /** The storage target failed (the message is the StorageError's). */
  | 'unreadable';

/** Why a file has no details; the message is for the user (no stack, no internals). */
export class BackupDetailsError extends Error {
  constructor(
    readonly code: BackupDetailsCode,
    message: string,
  ) {
    super(message);
    this.name = 'BackupDetailsError';
  }
}

const PARTS: { kind: BackupPartKind; label: string; flag: keyof Manifest['contents'] }[] = [
  { kind: 'firmware', label: 'Firmware configuration', flag: 'firmwareConfiguration' },
  { kind: 'system', label: 'System configuration', flag: 'systemConfiguration' },
  { kind: 'database', label: 'Internal database', flag: 'internalDatabase' },
];

// ── Cache ───────────────────────────────────────────────────────────────────

const cache = new Map<string, { at: number; details: BackupDetails }>();

/**
 * The cache key. A backup file is never rewritten in place (the engine
 * writes a partial file and renames it), so name, size and modified time
 * identify its bytes; the DMS enters as a salted hash, kept in memory only,
 * since the answer ('this'/'other', signature) depends on it.
 */
function cacheKey(target: StorageTarget, name: string, size: number, modifiedAt: string | null, dms: string): string {
  const dmsTag = crypto.createHash('sha256').update('webconf-backup-details-cache\0').update(dms).digest('base64');
  return JSON.stringify([target.kind, target.label, name, size, modifiedAt, dmsTag]);
}

function cached(key: string): BackupDetails | null {
  const hit = cache.get(key);
  if (!hit) return null;
  if (Date.now() - hit.at > CACHE_MS) {
    cache.delete(key);
    return null;
  }
  return structuredClone(hit.details);
}

function remember(key: string, details: BackupDetails): void {
  if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  cache.set(key, { at: Date.now(), details: structuredClone(details) });
}

/** Forgets every cached result (tests; or after a file was replaced behind the console's back). */
export function clearBackupDetailsCache(): void {
  cache.clear();
}

// ── Reading ─────────────────────────────────────────────────────────────────

function notABackup(name: string, why: string): BackupDetailsError {
  return new BackupDetailsError('not_a_backup', `${name} is not a Webconf backup: ${why}.`);
}

function damaged(name: string, why: string): BackupDetailsError {
  return new BackupDetailsError('damaged', `${name} is damaged: ${why}. It cannot be restored; use another backup.`);
}

function unreadable(err: unknown): BackupDetailsError {
  if (err instanceof StorageError) return new BackupDetailsError('unreadable', err.message);
  return new BackupDetailsError('unreadable', `The file could not be read: ${(err as Error)?.message ?? String(err)}`);
}

/** Bytes [start, end) of the file; fewer only if the file is shorter. */
async function readRange(target: StorageTarget, name: string, start: number, end: number, signal?: AbortSignal): Promise<Buffer> {
  signal?.throwIfAborted();
  const want = end - start;
  const out = Buffer.allocUnsafe(want);
  let got = 0;
  let stream: Readable;
  try {
    stream = await target.read(name, { start, end });
  } catch (err) {
    throw unreadable(err);
  }
  const onAbort = () => stream.destroy(signal!.reason as Error);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const piece of stream as AsyncIterable<Buffer>) {
      // A target must stop at `end`; one that sends more is cut to the range.
      const n = Math.min(piece.length, want - got);
      piece.copy(out, got, 0, n);
      got += n;
      if (got === want) break;
    }
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw unreadable(err);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stream.destroy();
  }
  return out.subarray(0, got);
}

/** The age header's errors as details errors: which mean "not ours" and which "damaged". */
function headerFailure(name: string, err: AgeHeaderError): BackupDetailsError {
  switch (err.reason) {
    case 'not-age':
      return notABackup(name, 'it is not an encrypted (age) file');
    case 'unsupported-version':
      return notABackup(name, 'it is an age file of another format version');
    case 'truncated':
    case 'too-large':
      return notABackup(name, 'it does not have a complete age header');
    case 'work-factor-too-high':
      return notABackup(name, `its passphrase asks for more scrypt work than Webconf backups use (2^${DEFAULT_LOG_N})`);
    case 'malformed':
    case 'bad-scrypt-stanza':
      return damaged(name, 'its encryption header is invalid');
  }
}

/** The 512-byte ustar header of the archive's first member: its name and data size, or null if it is no valid ustar header. */
function parseTarHeader(block: Buffer): { name: string; size: number; type: number } | null {
  if (block.length < TAR_BLOCK) return null;
  // Checksum: the sum of all 512 bytes with the checksum field (148..155) read as spaces, written in octal.
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  const octal = (from: number, to: number): number | null => {
    const text = block.toString('latin1', from, to).replace(/[\0 ]+$/, '').replace(/^ +/, '');
    return /^[0-7]{1,12}$/.test(text) ? parseInt(text, 8) : null;
  };
  if (octal(148, 156) !== sum) return null;
  if (block.toString('latin1', 257, 262) !== 'ustar') return null;
  const size = octal(124, 136);
  if (size === null) return null;
  const nul = block.indexOf(0, 0);
  const name = block.toString('utf8', 0, nul < 0 || nul > 100 ? 100 : nul);
  return { name, size, type: block[156]! };
}

/**
 * The details of backup file `name` on `target`, read from its start only
 * (see above). Resolves with `dms: 'other'` for a backup made with another
 * DMS; rejects with BackupDetailsError (not_found, not_a_backup, damaged,
 * unreadable), or with the signal's reason when aborted.
 */
export async function readBackupDetails(
  target: StorageTarget,
  name: string,
  dms: string,
  opts: {
    signal?: AbortSignal;
    /** Read the file again even if a result for it is kept (a verification looks at the bytes now). */
    fresh?: boolean;
    /** Also read the last chunk and authenticate it as the file's last (see above). */
    checkEnd?: boolean;
    /** Keys derived from the DMS before (key-cache.ts): then no scrypt runs. */
    keyCache?: BackupKeyCache;
  } = {},
): Promise<BackupDetails> {
  const { signal } = opts;
  signal?.throwIfAborted();
  let entry;
  try {
    entry = await target.stat(name);
  } catch (err) {
    throw unreadable(err);
  }
  if (!entry) throw new BackupDetailsError('not_found', `${name} does not exist on ${target.label}.`);
  if (entry.type !== 'file') throw notABackup(name, 'it is not a file');
  const facts: FileFacts = { fileName: entry.name, sizeBytes: entry.size, modifiedAt: entry.modifiedMs !== null ? new Date(entry.modifiedMs).toISOString() : null };
  const size = entry.size;
  if (size === 0) throw notABackup(name, 'the file is empty');

  const key = cacheKey(target, name, size, facts.modifiedAt, dms);
  const hit = opts.fresh || opts.checkEnd ? null : cached(key);
  if (hit) return hit;

  // 1. The header (parsed before any scrypt work, so a file that is no age file fails at once).
  let file = await readRange(target, name, 0, Math.min(size, FIRST_READ), signal);
  if (file.length < Math.min(size, FIRST_READ)) throw new BackupDetailsError('unreadable', `${name} changed while it was read; try again.`);
  let parsed;
  try {
    parsed = parseHeader(file);
  } catch (err) {
    if (err instanceof AgeHeaderError) throw headerFailure(name, err);
    throw err;
  }
  // FIRST_READ > MAX_HEADER_SIZE: no end of header in what was read means the file ends inside it.
  if (parsed === null) throw notABackup(name, 'it does not have a complete age header');
  const header: Header = parsed.header;
  if (!header.stanzas.some((s) => s.type === SCRYPT_TYPE)) {
    throw notABackup(name, 'it is encrypted to a key, not with a passphrase such as the Domain Master Secret');
  }

  // 2. The payload's shape, from the file's size alone.
  const payloadStart = parsed.size + PAYLOAD_NONCE_SIZE;
  if (size <= payloadStart) throw notABackup(name, 'it holds an age header but no encrypted contents');
  const payloadBytes = size - payloadStart;
  if (payloadBytes < TAG_SIZE) throw damaged(name, 'it is cut short after its header');
  const chunkCount = Math.ceil(payloadBytes / ENCRYPTED_CHUNK_SIZE);
  const plainTotal = payloadBytes - chunkCount * TAG_SIZE;

  // 3. The file key (scrypt, ~0.8 s at 2^18) and the header MAC.
  let fileKey: Buffer;
  try {
    // The header MAC is checked here too.
    fileKey = await openFileKey(dms, header, { maxLogN: DEFAULT_LOG_N, keyCache: opts.keyCache?.files });
  } catch (err) {
    if (err instanceof AgeNoMatchError && err.reason === 'wrong-passphrase') {
      const other: BackupDetails = {
        ...facts,
        dms: 'other',
        message: 'This backup was made with another Domain Master Secret (or its header is damaged): this appliance cannot open it, so its contents are not shown.',
      };
      remember(key, other);
      return other;
    }
    if (err instanceof AgeNoMatchError) throw notABackup(name, 'it is not encrypted with a passphrase');
    if (err instanceof AgeHeaderError) throw headerFailure(name, err);
    if (err instanceof AgeMacError) throw damaged(name, 'its encryption header failed authentication');
    throw err;
  }
  signal?.throwIfAborted();
  const payloadKey = derivePayloadKey(fileKey, file.subarray(parsed.size, payloadStart));
  fileKey.fill(0);

  // 4. Chunks, each on its own: chunk i is at payloadStart + i·65552, the last one ends the file.
  const chunkRange = (i: number): [number, number] => [payloadStart + i * ENCRYPTED_CHUNK_SIZE, Math.min(size, payloadStart + (i + 1) * ENCRYPTED_CHUNK_SIZE)];
  const plain: Buffer[] = [];
  /** Makes sure chunks [0, count) are decrypted, reading what is missing in one range. */
  const decryptThrough = async (count: number) => {
    const [, end] = chunkRange(count - 1);
    if (end > file.length) {
      const more = await readRange(target, name, file.length, end, signal);
      if (more.length < end - file.length) throw new BackupDetailsError('unreadable', `${name} changed while it was read; try again.`);
      file = Buffer.concat([file, more]);
    }
    for (let i = plain.length; i < count; i++) {
      const last = i === chunkCount - 1;
      const [from, to] = chunkRange(i);
      const opened = openChunk(payloadKey, i, last, file.subarray(from, to));
      if (opened === null) {
        throw damaged(name, last ? `its chunk ${i} (its last) failed authentication — the file may be cut short` : `its chunk ${i} failed authentication`);
      }
      if (last && opened.length === 0 && i > 0) throw damaged(name, `its last chunk (${i}) is empty`);
      plain.push(opened);
    }
  };
  const chunksFor = (plainBytes: number) => Math.min(chunkCount, Math.max(1, Math.ceil(plainBytes / CHUNK_SIZE)));

  // 5. The tar header of the first member: manifest.json, and its length.
  await decryptThrough(chunksFor(TAR_BLOCK));
  if (plainTotal < TAR_BLOCK) throw notABackup(name, 'its contents are too short to hold a manifest');
  const tarHeader = parseTarHeader(Buffer.concat(plain).subarray(0, TAR_BLOCK));
  if (!tarHeader || tarHeader.name !== MANIFEST_NAME || (tarHeader.type !== 0x30 && tarHeader.type !== 0)) {
    throw notABackup(name, `its archive does not start with ${MANIFEST_NAME}`);
  }
  if (tarHeader.size > MAX_MANIFEST_BYTES) throw notABackup(name, `its manifest is larger than ${MAX_MANIFEST_BYTES >> 20} MiB`);
  const manifestEnd = TAR_BLOCK + tarHeader.size;

  // 6. The manifest's chunks (all authenticated, the last one only if it is the file's last).
  await decryptThrough(chunksFor(manifestEnd));
  if (manifestEnd > plainTotal) throw notABackup(name, 'its archive ends inside its manifest');
  let raw: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(plain).subarray(TAR_BLOCK, manifestEnd));
    raw = JSON.parse(text);
  } catch {
    throw notABackup(name, 'its manifest is not valid JSON');
  }
  const result = manifestSchema.safeParse(raw);
  if (!result.success) throw notABackup(name, 'its manifest does not have the fields of a Webconf backup manifest');
  const manifest = result.data;
  signal?.throwIfAborted();
  const signature = (await verifyManifestSignature(manifest, dms, opts.keyCache?.manifests)) ? 'verified' : 'invalid';
  const archiveBytes = await archiveSizeFor(tarHeader.size, manifest.members);
  const expectedSizeBytes = payloadStart + archiveBytes + Math.max(1, Math.ceil(archiveBytes / CHUNK_SIZE)) * TAG_SIZE;

  // 7. The last chunk, on its own (when asked, not already read with the manifest, and where the manifest says the file ends:
  //    a file of another length is cut short or extended, which its length already says).
  if (opts.checkEnd && plain.length < chunkCount && size === expectedSizeBytes) {
    const last = chunkCount - 1;
    const [from, to] = chunkRange(last);
    const bytes = await readRange(target, name, from, to, signal);
    if (bytes.length < to - from) throw new BackupDetailsError('unreadable', `${name} changed while it was read; try again.`);
    const opened = openChunk(payloadKey, last, true, bytes);
    if (opened === null) throw damaged(name, `its last chunk (${last}) failed authentication — the file may be cut short`);
    if (opened.length === 0) throw damaged(name, `its last chunk (${last}) is empty`);
  }

  const details: BackupDetails = {
    ...facts,
    dms: 'this',
    createdAt: manifest.createdAt,
    appliance: { id: manifest.appliance.id, name: manifest.appliance.name, firmwareVersion: manifest.appliance.firmwareVersion },
    format: manifest.format,
    formatVersion: manifest.formatVersion,
    contents: {
      parts: PARTS.map((p) => {
        const members = manifest.members.filter((m) => m.kind === p.kind);
        return { kind: p.kind, label: p.label, included: manifest.contents[p.flag] === true, files: members.length, bytes: members.reduce((n, m) => n + m.size, 0) };
      }),
      members: manifest.members.length,
      dataBytes: manifest.members.reduce((n, m) => n + m.size, 0),
      database: { engine: manifest.database.engine, integrityCheck: manifest.database.integrityCheck },
      excluded: [...manifest.contents.excluded],
    },
    signature,
    expectedSizeBytes,
  };
  remember(key, details);
  return details;
}

/**
 * The most readBackupDetails reads of one file: the first read, or a
 * header of the largest size the format allows, the nonce and the chunks of
 * the largest manifest accepted (about 16.1 MiB).
 */
export const MAX_DETAILS_READ = Math.max(
  FIRST_READ,
  MAX_HEADER_SIZE + PAYLOAD_NONCE_SIZE + Math.ceil((TAR_BLOCK + MAX_MANIFEST_BYTES) / CHUNK_SIZE) * ENCRYPTED_CHUNK_SIZE,
);
