import { bech32 } from '@scure/base';

/**
 * Bech32 as age uses it (layout: format.ts, "Keys"): BIP 173's checksum and
 * alphabet, without BIP 173's 90-character limit, one case throughout. The
 * checksum arithmetic is @scure/base's (audited, no dependencies, the same
 * code typage uses); this adapter classifies failures so that a key typed
 * wrong is refused in words, and keeps the prefix's case, which age uses to
 * tell recipients (lower case) from secret keys (upper case).
 */

const ALPHABET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

export type Bech32Failure = 'not-bech32' | 'mixed-case' | 'bad-checksum' | 'bad-length';

export type Bech32Decoded =
  | { ok: true; /** As written (its case kept). */ prefix: string; bytes: Buffer; upperCase: boolean }
  | { ok: false; failure: Bech32Failure };

export function decodeBech32(text: string): Bech32Decoded {
  const lower = text.toLowerCase();
  const upper = text.toUpperCase();
  if (text !== lower && text !== upper) return { ok: false, failure: 'mixed-case' };
  const sep = lower.lastIndexOf('1');
  // A prefix of 1+ printable ASCII characters, the separator, 6+ data characters (the checksum).
  if (sep < 1 || lower.length - sep - 1 < 6) return { ok: false, failure: 'not-bech32' };
  for (let i = 0; i < sep; i++) {
    const c = lower.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return { ok: false, failure: 'not-bech32' };
  }
  for (let i = sep + 1; i < lower.length; i++) if (!ALPHABET.includes(lower[i]!)) return { ok: false, failure: 'not-bech32' };
  let words: number[];
  try {
    words = bech32.decode(lower as `${string}1${string}`, false).words;
  } catch {
    // Every other shape error was ruled out above: what is left is the checksum.
    return { ok: false, failure: 'bad-checksum' };
  }
  // 5-bit groups to bytes; padding past the last byte must be under 5 bits and zero.
  const bytes = bech32.fromWordsUnsafe(words);
  if (!bytes) return { ok: false, failure: 'bad-length' };
  return { ok: true, prefix: text.slice(0, sep), bytes: Buffer.from(bytes), upperCase: text !== lower };
}

/** Lower case Bech32 of `bytes` under `prefix` (any length). */
export function encodeBech32(prefix: string, bytes: Uint8Array): string {
  return bech32.encode(prefix, bech32.toWords(bytes), false);
}
