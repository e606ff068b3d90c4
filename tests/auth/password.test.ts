import { beforeAll, describe, expect, it } from 'vitest';
import { decoyHash, hashPassword, verifyPassword } from '@/lib/auth/password';

const PASSWORD = 'correct horse battery staple';

describe('password hashing', () => {
  let hash: string;
  beforeAll(async () => {
    hash = await hashPassword(PASSWORD);
  });

  it('verifies the password it was made from', async () => {
    expect(await verifyPassword(PASSWORD, hash)).toBe(true);
  });

  it('refuses a wrong password, including near misses', async () => {
    expect(await verifyPassword('correct horse battery stapl', hash)).toBe(false);
    expect(await verifyPassword('Correct horse battery staple', hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
  });

  it('stores the scrypt parameters with the hash and never the password', () => {
    expect(hash).toMatch(/^scrypt\$15\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(hash).not.toContain(PASSWORD);
    expect(hash).not.toContain(Buffer.from(PASSWORD).toString('base64'));
    const [, , , , salt, key] = hash.split('$');
    expect(Buffer.from(salt!, 'base64')).toHaveLength(16);
    expect(Buffer.from(key!, 'base64')).toHaveLength(32);
  });

  it('salts: two hashes of the same password differ, and both verify', async () => {
    const second = await hashPassword(PASSWORD);
    expect(second).not.toBe(hash);
    expect(second.split('$')[4]).not.toBe(hash.split('$')[4]);
    expect(await verifyPassword(PASSWORD, second)).toBe(true);
  });

  it('treats canonically equivalent Unicode spellings as the same password (NFKC)', async () => {
    const composed = await hashPassword('pässwörd-long-enough');
    expect(await verifyPassword('pa\u0308sswo\u0308rd-long-enough', composed)).toBe(true);
  });

  it('the decoy hash is one stable, valid hash that no ordinary password matches', async () => {
    const a = await decoyHash();
    const b = await decoyHash();
    expect(a).toBe(b);
    expect(a.startsWith('scrypt$')).toBe(true);
    expect(await verifyPassword(PASSWORD, a)).toBe(false);
  });
});

describe('verifyPassword with a malformed or hostile stored hash', () => {
  const salt = Buffer.alloc(16, 7).toString('base64');
  const key = Buffer.alloc(32, 9).toString('base64');

  const cases: [string, string][] = [
    ['empty string', ''],
    ['plain text', PASSWORD],
    ['another scheme', `bcrypt$15$8$1$${salt}$${key}`],
    ['too few parts', `scrypt$15$8$1$${salt}`],
    ['too many parts', `scrypt$15$8$1$${salt}$${key}$extra`],
    ['non-numeric logN', `scrypt$abc$8$1$${salt}$${key}`],
    ['fractional logN', `scrypt$15.5$8$1$${salt}$${key}`],
    ['empty parameters', `scrypt$$$$${salt}$${key}`],
    ['logN too small', `scrypt$9$8$1$${salt}$${key}`],
    ['logN too large', `scrypt$21$8$1$${salt}$${key}`],
    ['logN absurd', `scrypt$64$8$1$${salt}$${key}`],
    ['negative logN', `scrypt$-15$8$1$${salt}$${key}`],
    ['r zero', `scrypt$15$0$1$${salt}$${key}`],
    ['r too large', `scrypt$15$33$1$${salt}$${key}`],
    ['p zero', `scrypt$15$8$0$${salt}$${key}`],
    ['p too large', `scrypt$15$8$17$${salt}$${key}`],
    ['empty hash part (would compare zero bytes)', `scrypt$15$8$1$${salt}$`],
    ['one-byte hash part (guessable)', `scrypt$15$8$1$${salt}$AA==`],
    ['memory-hungry parameters (logN 20, r 32: 4 GiB)', `scrypt$20$32$16$${salt}$${key}`],
    ['memory-hungry parameters (logN 20, r 8: 1 GiB)', `scrypt$20$8$1$${salt}$${key}`],
  ];

  it.each(cases)('%s → false, quickly, without throwing', async (_name, stored) => {
    const started = performance.now();
    await expect(verifyPassword(PASSWORD, stored)).resolves.toBe(false);
    // A legitimate verification costs well under a second; hostile parameters must not cost more.
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('an empty password never matches a hash with an empty hash part', async () => {
    await expect(verifyPassword('', `scrypt$15$8$1$${salt}$`)).resolves.toBe(false);
  });

  it('a hash of a different password with a well-formed layout is refused', async () => {
    await expect(verifyPassword(PASSWORD, `scrypt$15$8$1$${salt}$${key}`)).resolves.toBe(false);
  });
});
