import { describe, expect, it } from 'vitest';
import { AgeNoIdentityMatchedError, decryptWithIdentities, parseX25519Identity, type X25519Identity } from '@/lib/age';
import { checkOutcome, run, vectors, type Vector } from './cctv';

/**
 * Every C2SP age test vector (cctv-age, read in cctv.ts) that names an
 * X25519 identity, end to end through decryptWithIdentities with those
 * identities: the header, every X25519 stanza, the MAC and the payload, with
 * the vector's outcome (success and the payload's SHA-256; or the failure
 * kind, with exactly the plaintext released before a payload failure).
 * Armored vectors are left out (we neither write nor read ASCII armor, see
 * vectors.test.ts); post-quantum identities (AGE-SECRET-KEY-PQ-1...) are not
 * ours and are not passed.
 */

const X25519_PREFIX = 'AGE-SECRET-KEY-1';

const x25519Vectors = vectors.filter((v) => !v.armored && v.identities.some((id) => id.startsWith(X25519_PREFIX)));

function identitiesOf(v: Vector): X25519Identity[] {
  return v.identities.filter((id) => id.startsWith(X25519_PREFIX)).map(parseX25519Identity);
}

describe('C2SP age test vectors with X25519 identities (cctv-age)', () => {
  it('has them all, the x25519_* ones included', () => {
    expect(x25519Vectors.length).toBeGreaterThan(60);
    const named = vectors.filter((v) => v.name.startsWith('x25519')).map((v) => v.name);
    expect(named.length).toBeGreaterThanOrEqual(14);
    expect(x25519Vectors.map((v) => v.name)).toEqual(expect.arrayContaining(named));
  });

  it.each(x25519Vectors.map((v) => [v.name, v] as const))('%s', async (_name, v) => {
    const outcome = await run(() => decryptWithIdentities(v.file, identitiesOf(v)));
    checkOutcome(v, outcome);
    // The vectors' "no match" is ours: the identity opens none of the stanzas.
    if (v.expect === 'no match') expect(outcome.error).toBeInstanceOf(AgeNoIdentityMatchedError);
  });

  it('the vectors identity opens its own vectors, and is refused by the other one', async () => {
    const x25519 = vectors.find((v) => v.name === 'x25519')!;
    const other = vectors.find((v) => v.name === 'x25519_no_match')!;
    expect(identitiesOf(x25519)[0]!.recipient.equals(identitiesOf(other)[0]!.recipient)).toBe(false);
    const outcome = await run(() => decryptWithIdentities(x25519.file, identitiesOf(other)));
    expect(outcome.error).toBeInstanceOf(AgeNoIdentityMatchedError);
    // Both identities together: the right one matches whatever its place.
    checkOutcome(x25519, await run(() => decryptWithIdentities(x25519.file, [...identitiesOf(other), ...identitiesOf(x25519)])));
  });
});
