import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SealError, seal, unseal } from '@/lib/crypto/seal';
import { loadOrCreateKey, secretsDir } from '@/lib/crypto/secret-files';

const SECRET = 'client-secret-\u00e9\u4e2d-0123456789';
const PURPOSE = 'oidc.client-secret';

function parts(sealed: string) {
  const [v, iv, ct, tag] = sealed.split('.') as [string, string, string, string];
  return { v, iv: Buffer.from(iv, 'base64url'), ct: Buffer.from(ct, 'base64url'), tag: Buffer.from(tag, 'base64url') };
}

function join(p: { v: string; iv: Buffer; ct: Buffer; tag: Buffer }) {
  return [p.v, p.iv.toString('base64url'), p.ct.toString('base64url'), p.tag.toString('base64url')].join('.');
}

function flip(b: Buffer, i = 0): Buffer {
  const c = Buffer.from(b);
  c[i] = c[i]! ^ 0x01;
  return c;
}

describe('seal / unseal', () => {
  it('round-trips, including Unicode and the empty string', () => {
    expect(unseal(seal(SECRET, PURPOSE), PURPOSE)).toBe(SECRET);
    expect(unseal(seal('', PURPOSE), PURPOSE)).toBe('');
  });

  it('has the documented layout: v1, 12-byte IV, ciphertext, 16-byte tag', () => {
    const p = parts(seal(SECRET, PURPOSE));
    expect(p.v).toBe('v1');
    expect(p.iv).toHaveLength(12);
    expect(p.ct).toHaveLength(Buffer.byteLength(SECRET));
    expect(p.tag).toHaveLength(16);
  });

  it('the sealed string does not contain the plaintext in any common encoding', () => {
    const sealed = seal(SECRET, PURPOSE);
    for (const enc of ['utf8', 'base64', 'base64url', 'hex'] as const) {
      expect(sealed).not.toContain(Buffer.from(SECRET).toString(enc).replace(/=+$/, ''));
    }
    expect(sealed).not.toContain('client-secret');
  });

  it('uses a fresh IV each time: sealing twice gives different strings', () => {
    const a = seal(SECRET, PURPOSE);
    const b = seal(SECRET, PURPOSE);
    expect(a).not.toBe(b);
    expect(parts(a).iv.equals(parts(b).iv)).toBe(false);
  });

  it('a value sealed for one purpose cannot be unsealed for another', () => {
    const sealed = seal(SECRET, PURPOSE);
    expect(() => unseal(sealed, 'backup.key')).toThrow(SealError);
    expect(() => unseal(sealed, `${PURPOSE} `)).toThrow(SealError);
    expect(() => unseal(sealed, '')).toThrow(SealError);
  });

  it('tampered ciphertext is refused', () => {
    const p = parts(seal(SECRET, PURPOSE));
    expect(() => unseal(join({ ...p, ct: flip(p.ct) }), PURPOSE)).toThrow(SealError);
    expect(() => unseal(join({ ...p, ct: flip(p.ct, p.ct.length - 1) }), PURPOSE)).toThrow(SealError);
    expect(() => unseal(join({ ...p, ct: p.ct.subarray(1) }), PURPOSE)).toThrow(SealError);
  });

  it('a tampered tag is refused', () => {
    const p = parts(seal(SECRET, PURPOSE));
    expect(() => unseal(join({ ...p, tag: flip(p.tag) }), PURPOSE)).toThrow(SealError);
    expect(() => unseal(join({ ...p, tag: flip(p.tag, 15) }), PURPOSE)).toThrow(SealError);
  });

  it.each([4, 8, 12, 15, 0])('a tag truncated to %i bytes is refused (no shortened-tag forgeries)', (n) => {
    const p = parts(seal(SECRET, PURPOSE));
    expect(() => unseal(join({ ...p, tag: p.tag.subarray(0, n) }), PURPOSE)).toThrow(SealError);
  });

  it('a tampered IV is refused', () => {
    const p = parts(seal(SECRET, PURPOSE));
    expect(() => unseal(join({ ...p, iv: flip(p.iv) }), PURPOSE)).toThrow(SealError);
    expect(() => unseal(join({ ...p, iv: Buffer.alloc(0) }), PURPOSE)).toThrow(SealError);
  });

  it.each([
    ['empty', ''],
    ['plain text', SECRET],
    ['wrong version', seal(SECRET, PURPOSE).replace(/^v1\./, 'v2.')],
    ['too few parts', 'v1.aaaa.bbbb'],
    ['too many parts', `${seal(SECRET, PURPOSE)}.extra`],
  ])('%s → SealError with a format message', (_name, value) => {
    expect(() => unseal(value, PURPOSE)).toThrow(SealError);
    expect(() => unseal(value, PURPOSE)).toThrow(/unknown format/);
  });

  it('SealError never carries the plaintext', () => {
    const p = parts(seal(SECRET, PURPOSE));
    try {
      unseal(join({ ...p, tag: flip(p.tag) }), PURPOSE);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(SealError);
      expect((err as Error).message).not.toContain(SECRET);
    }
  });
});

describe('the seal key file', () => {
  it('is made once, 0600, in <data>/secrets, and reused', () => {
    seal('x', PURPOSE);
    const file = path.join(secretsDir(), 'seal.key');
    expect(secretsDir()).toBe(path.join(path.resolve(process.env.WEBCONF_DATA_DIR!), 'secrets'));
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const before = fs.readFileSync(file, 'utf8');
    expect(Buffer.from(before, 'base64')).toHaveLength(32);
    const sealed = seal(SECRET, PURPOSE);
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
    expect(unseal(sealed, PURPOSE)).toBe(SECRET);
  });

  it('a damaged key file is reported, not silently replaced', () => {
    const file = path.join(secretsDir(), 'broken.key');
    fs.writeFileSync(file, 'c2hvcnQ=', { mode: 0o600 });
    expect(() => loadOrCreateKey('broken.key')).toThrow(/damaged/);
    expect(fs.readFileSync(file, 'utf8')).toBe('c2hvcnQ=');
  });

  it('a value sealed under another appliance key cannot be opened', () => {
    const sealed = seal(SECRET, PURPOSE);
    const file = path.join(secretsDir(), 'seal.key');
    const original = fs.readFileSync(file, 'utf8');
    try {
      fs.writeFileSync(file, Buffer.alloc(32, 1).toString('base64'));
      expect(() => unseal(sealed, PURPOSE)).toThrow(/cannot be opened with this appliance key/);
    } finally {
      fs.writeFileSync(file, original);
    }
    expect(unseal(sealed, PURPOSE)).toBe(SECRET);
  });
});
