import zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import * as cctv from 'cctv-age';
import { expect } from 'vitest';
import { AgeHeaderError, AgeMacError, AgeNoMatchError, AgePayloadError } from '@/lib/age';
import { collect, sha256 } from './helpers';

/**
 * The C2SP age test kit (npm cctv-age): each export is a textual header of
 * `key: value` lines, a blank line, then an age file (zlib-compressed when
 * `compressed: zlib`). Read here once for vectors.test.ts (scrypt, generic
 * header, MAC and STREAM) and x25519-vectors.test.ts (X25519 identities).
 */

export interface Vector {
  name: string;
  expect: string;
  passphrases: string[];
  /** The vector's `identity` lines (X25519 "AGE-SECRET-KEY-1..." and others). */
  identities: string[];
  fileKey: Buffer | null;
  payload: string | null;
  armored: boolean;
  comment: string;
  file: Buffer;
}

function parseVector(name: string, bytes: Uint8Array): Vector {
  const buf = Buffer.from(bytes);
  const split = buf.indexOf('\n\n');
  const fields = buf
    .subarray(0, split)
    .toString('utf8')
    .split('\n')
    .map((line) => {
      const i = line.indexOf(': ');
      return [line.slice(0, i), line.slice(i + 2)] as const;
    });
  const all = (key: string) => fields.filter(([k]) => k === key).map(([, v]) => v);
  const one = (key: string) => all(key)[0] ?? null;
  let file = buf.subarray(split + 2);
  if (one('compressed') === 'zlib') file = zlib.inflateSync(file);
  const fileKey = one('file key');
  return {
    name,
    expect: one('expect')!,
    passphrases: all('passphrase'),
    identities: all('identity'),
    fileKey: fileKey ? Buffer.from(fileKey, 'hex') : null,
    payload: one('payload'),
    armored: one('armored') === 'yes',
    comment: one('comment') ?? '',
    file,
  };
}

export const vectors = Object.entries(cctv as unknown as Record<string, Uint8Array>)
  .map(([name, bytes]) => parseVector(name, bytes))
  .sort((a, b) => a.name.localeCompare(b.name));

export const ERROR_FOR: Record<string, new (...args: never[]) => Error> = {
  'header failure': AgeHeaderError,
  'no match': AgeNoMatchError,
  'HMAC failure': AgeMacError,
  'payload failure': AgePayloadError,
};

/** Outcome of one open: the header-phase error, or what the plaintext stream released and how it ended. */
export async function run(open: () => Promise<Readable>) {
  let stream;
  try {
    stream = await open();
  } catch (error) {
    return { error: error as Error, data: Buffer.alloc(0), phase: 'header' as const };
  }
  const { data, error } = await collect(stream);
  return { error, data, phase: 'payload' as const };
}

export function checkOutcome(v: Vector, outcome: Awaited<ReturnType<typeof run>>): void {
  if (v.expect === 'success') {
    expect(outcome.error).toBeNull();
    expect(sha256(outcome.data)).toBe(v.payload);
    return;
  }
  const type = ERROR_FOR[v.expect];
  if (!type) throw new Error(`unknown expectation ${v.expect}`);
  expect(outcome.error).toBeInstanceOf(type);
  if (v.expect === 'payload failure') {
    // All plaintext released before the failure, and nothing else.
    expect(sha256(outcome.data)).toBe(v.payload);
  } else {
    expect(outcome.data.length).toBe(0);
  }
}

