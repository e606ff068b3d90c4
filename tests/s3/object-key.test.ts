import { describe, expect, it } from 'vitest';
import { fullKey, fullPrefix, keyProblem, MAX_KEY_BYTES, normalizeFolder, ObjectKeyError, relativeKey } from '@/lib/s3/object-key';

describe('object keys stay inside the folder', () => {
  it('joins the folder and a relative key', () => {
    expect(fullKey('fleet/configs', 'fw-01/a.age')).toBe('fleet/configs/fw-01/a.age');
    expect(fullKey('', 'fw-01/a.age')).toBe('fw-01/a.age');
    expect(fullKey('f', 'name with spaces and ünïcode.txt')).toBe('f/name with spaces and ünïcode.txt');
    // Dots inside a name are fine; only whole "." and ".." segments are refused.
    expect(fullKey('f', '..hidden/a..b/.x')).toBe('f/..hidden/a..b/.x');
  });

  it('refuses keys that could leave the folder or are not S3 keys', () => {
    for (const k of ['', '..', '../x', 'a/../../x', 'a/..', './x', 'a/./b', '/x', 'x/', 'a//b', 'a\\b', 'a\u0000b', 'a\nb', 'a\u007fb']) {
      expect(() => fullKey('f', k), JSON.stringify(k)).toThrow(ObjectKeyError);
    }
    expect(keyProblem('../x', 'key')).toMatch(/"\." or "\.\."/);
    expect(keyProblem('/x', 'key')).toMatch(/cannot start with "\/"/);
  });

  it('limits the full key to 1024 bytes of UTF-8', () => {
    expect(fullKey('', 'a'.repeat(MAX_KEY_BYTES))).toHaveLength(MAX_KEY_BYTES);
    expect(() => fullKey('', 'a'.repeat(MAX_KEY_BYTES + 1))).toThrow(/longer than 1024 bytes/);
    expect(() => fullKey('', 'é'.repeat(513))).toThrow(/longer than 1024 bytes/);
    expect(() => fullKey('folder', 'a'.repeat(MAX_KEY_BYTES - 3))).toThrow(/and its folder are longer/);
  });

  it('takes listing prefixes ending with "/" or in the middle of a name, never ".."', () => {
    expect(fullPrefix('f', '')).toBe('f/');
    expect(fullPrefix('', '')).toBe('');
    expect(fullPrefix('f', 'fw-01/')).toBe('f/fw-01/');
    expect(fullPrefix('f', 'fw-01/2026-')).toBe('f/fw-01/2026-');
    for (const p of ['../', '..', 'a/../', '/a', 'a//']) expect(() => fullPrefix('f', p), p).toThrow(ObjectKeyError);
  });

  it('gives keys back relative to the folder, and nothing outside it', () => {
    expect(relativeKey('fleet', 'fleet/a/b')).toBe('a/b');
    expect(relativeKey('fleet', 'fleet-other/a')).toBeNull();
    expect(relativeKey('fleet', 'fleet/')).toBeNull();
    expect(relativeKey('fleet', 'other/a')).toBeNull();
    expect(relativeKey('', 'a/b')).toBe('a/b');
  });

  it('normalizes a folder to no slashes at either end', () => {
    expect(normalizeFolder(' /fleet/configs/ ')).toBe('fleet/configs');
    expect(normalizeFolder('///')).toBe('');
    expect(keyProblem('a/../b', 'folder')).toMatch(/"\." or "\.\."/);
    expect(keyProblem('', 'folder')).toBeNull();
  });
});
