/**
 * The age v1 file format (https://age-encryption.org/v1, C2SP "age"), as this
 * console writes and reads it: passphrase (scrypt) mode and X25519 recipients,
 * binary (no armor).
 * This comment is the one place the byte layout is written down; the other
 * files in this folder implement it and take their numbers from here.
 *
 * ── File ────────────────────────────────────────────────────────────────────
 *   file    = header payload
 *
 * ── Header (text, LF line ends only, no CR anywhere) ───────────────────────
 *   age-encryption.org/v1\n                      version line, exactly
 *   -> ARG ARG ...\n                             one or more stanzas: arg line,
 *   BASE64 (64 columns)\n                          then body lines: full lines of
 *   ...                                            exactly 64 columns, ended by one
 *   BASE64 (0..63 columns)\n                       shorter line (possibly empty)
 *   --- MAC\n                                    MAC line: "---", one space,
 *                                                  43 base64 columns (32 bytes)
 *
 *   ARG     one or more VCHAR (0x21..0x7E), single spaces between arguments; the
 *           first argument is the stanza type. Types we don't know parse
 *           generically (type, arguments, body) and are ignored.
 *   BASE64  RFC 4648 standard alphabet, NO '=' padding, canonical: unused
 *           trailing bits are zero (decoders reject anything else). A body of
 *           48·k bytes ends with an empty line.
 *
 *   scrypt stanza (passphrase mode):
 *     -> scrypt SALT LOGN\n
 *     BODY\n
 *       SALT  base64 of 16 random bytes (fresh per file)
 *       LOGN  log2 of the scrypt work factor, decimal, /^[1-9][0-9]*$/ (no
 *             leading zero, no sign). We write DEFAULT_LOG_N; we refuse to
 *             compute above MAX_LOG_N (a header error naming the limit).
 *       BODY  base64 of exactly 32 bytes = ChaCha20-Poly1305(wrap key,
 *             nonce 12×0x00, file key 16 bytes) → 16 ciphertext + 16 tag
 *       wrap key = scrypt(P = passphrase (UTF-8),
 *                         S = "age-encryption.org/v1/scrypt" || SALT,
 *                         N = 2^LOGN, r = 8, p = 1, dkLen = 32)
 *     An scrypt stanza must be the ONLY stanza in its header.
 *
 *   X25519 stanza (one per recipient; a header may hold several, never
 *   together with an scrypt stanza):
 *     -> X25519 SHARE\n
 *     BODY\n
 *       SHARE  base64 of the 32-byte ephemeral X25519 public key (a fresh
 *              key pair per stanza), canonical, exactly one argument
 *       BODY   base64 of exactly 32 bytes = ChaCha20-Poly1305(wrap key,
 *              nonce 12×0x00, file key 16 bytes) → 16 ciphertext + 16 tag
 *       shared   = X25519(ephemeral secret, recipient)
 *                = X25519(identity, SHARE)       all zero (SHARE of low
 *                                                order) is refused
 *       wrap key = HKDF-SHA-256(ikm = shared,
 *                               salt = SHARE || recipient (32 + 32 bytes),
 *                               info = "age-encryption.org/v1/X25519", 32)
 *     A reader with identities checks every X25519 stanza against these
 *     rules (a header error otherwise), then tries each stanza with each
 *     identity: a tag that does not open means "not this identity", and
 *     when none opens, no identity matched. Other stanza types are ignored.
 *
 *   MAC = HMAC-SHA-256(key = HKDF-SHA-256(ikm = file key, salt = empty,
 *                                         info = "header"),
 *                      message = header bytes from the start up to and
 *                                including the "---" (not the space after it))
 *
 * ── Payload (binary, starts right after the MAC line's \n) ─────────────────
 *   NONCE  16 random bytes (fresh per file)
 *   CHUNK  one or more; plaintext split into 64 KiB chunks, each sealed with
 *          ChaCha20-Poly1305 (empty associated data):
 *            payload key = HKDF-SHA-256(ikm = file key, salt = NONCE,
 *                                       info = "payload")
 *            chunk nonce = 11-byte big-endian chunk counter (from 0)
 *                          || 0x01 for the final chunk, 0x00 otherwise
 *            chunk       = ciphertext (same length as plaintext) || tag 16
 *          Every chunk but the last holds exactly 64 KiB of plaintext
 *          (65552 bytes on disk). The last chunk holds 1..65536 bytes (it
 *          may be full); it is empty (16 bytes on disk) only when the whole
 *          payload is empty. Nothing follows the last chunk.
 *
 *   So a reader can only tell a full chunk is the last one when the input
 *   ends after it: it must look one byte ahead.
 *
 * ── Keys ────────────────────────────────────────────────────────────────────
 *   file key  16 random bytes, fresh per file, never reused. One scrypt run
 *             per file to wrap it (and one to unwrap it) is inherent to the
 *             format: each file has its own salt. An X25519 recipient costs
 *             one key pair and one X25519 per file instead (well under 1 ms).
 *
 *   X25519 keys are Bech32 (BIP 173 checksum, without BIP 173's 90-character
 *   limit), 32 bytes of data each:
 *     recipient  HRP "age", lower case only: "age1" + 58 characters. The
 *                X25519 public key; a low-order point is refused.
 *     identity   HRP "AGE-SECRET-KEY-", upper case only:
 *                "AGE-SECRET-KEY-1" + 58 characters. 32 random bytes, kept
 *                as generated (X25519 clamps the scalar when it uses it).
 *   Identity file, as age-keygen writes it (LF; a reader also takes CRLF):
 *     # created: 2026-01-02T03:04:05Z          RFC 3339
 *     # public key: age1...                    the key below, as recipient
 *     AGE-SECRET-KEY-1...
 *   Lines starting with "#" and blank lines are comments; every other line
 *   is one identity. A "# public key:" comment must match the key after it.
 */

export const VERSION_LINE = 'age-encryption.org/v1';
export const VERSION_PREFIX = 'age-encryption.org/';
export const STANZA_PREFIX = '-> ';
export const MAC_PREFIX = '---';

/** Body lines: 64 base64 columns = 48 bytes. */
export const COLUMNS_PER_LINE = 64;
export const BYTES_PER_LINE = 48;

export const FILE_KEY_SIZE = 16;
export const MAC_SIZE = 32;
export const HEADER_MAC_INFO = 'header';

/** A reader gives up on a header longer than this (ours are ~130 bytes). */
export const MAX_HEADER_SIZE = 64 * 1024;

export const SCRYPT_TYPE = 'scrypt';
export const SCRYPT_LABEL = 'age-encryption.org/v1/scrypt';
export const SCRYPT_SALT_SIZE = 16;
export const SCRYPT_R = 8;
export const SCRYPT_P = 1;
/** Wrapped file key: 16 bytes + 16-byte tag. */
export const SCRYPT_BODY_SIZE = 32;
/** What we write: 2^18 (256 MiB of memory, about 1 s on the appliance). */
export const DEFAULT_LOG_N = 18;
/** What we accept when reading (2^20 needs 1 GiB of memory). */
export const MAX_LOG_N = 20;

export const X25519_TYPE = 'X25519';
export const X25519_LABEL = 'age-encryption.org/v1/X25519';
/** Ephemeral share and keys: 32 bytes. */
export const X25519_KEY_SIZE = 32;
/** Wrapped file key: 16 bytes + 16-byte tag. */
export const X25519_BODY_SIZE = 32;
export const RECIPIENT_HRP = 'age';
export const IDENTITY_HRP = 'AGE-SECRET-KEY-';
/** A reader gives up on an identity file longer than this (one key is ~150 bytes). */
export const MAX_IDENTITY_FILE_SIZE = 64 * 1024;

export const PAYLOAD_NONCE_SIZE = 16;
export const PAYLOAD_KEY_INFO = 'payload';
export const CHUNK_SIZE = 64 * 1024;
export const TAG_SIZE = 16;
export const ENCRYPTED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE;
export const CHUNK_NONCE_SIZE = 12;
export const LAST_CHUNK_FLAG = 0x01;
