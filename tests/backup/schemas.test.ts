import { describe, expect, it } from 'vitest';
import { backupSettingsFormSchema, backupSettingsSchema, filenamePrefixSchema } from '@/lib/backup/schemas';

const MALFORMED = 'Use letters, digits, dot, dash or underscore, starting with a letter or digit.';

function messages(value: unknown): string[] {
  const r = filenamePrefixSchema.safeParse(value);
  return r.success ? [] : r.error.issues.map((i) => i.message);
}

describe('filenamePrefixSchema', () => {
  it('empty is allowed (no prefix)', () => {
    expect(filenamePrefixSchema.parse('')).toBe('');
    expect(filenamePrefixSchema.parse('   ')).toBe('');
  });

  it.each(['nightly', 'A1', '9backup', 'site-a.prod_01', 'x'.repeat(40)])('valid %j passes', (v) => {
    expect(filenamePrefixSchema.parse(v)).toBe(v);
  });

  it('trims surrounding spaces', () => {
    expect(filenamePrefixSchema.parse('  nightly ')).toBe('nightly');
  });

  it('over 40 characters → the length message', () => {
    expect(messages('x'.repeat(41))).toEqual(['The prefix has at most 40 characters.']);
  });

  it.each(['-lead', '.hidden', '_x', '../etc', 'a/b', 'a\\b', 'a b', 'a:b', 'a*', 'ä', 'x\u0000', '$(rm)'])('malformed %j → the character rule', (v) => {
    expect(messages(v)).toEqual([MALFORMED]);
  });

  it('refuses non-strings', () => {
    expect(filenamePrefixSchema.safeParse(5).success).toBe(false);
  });
});

describe('backupSettingsFormSchema', () => {
  it('defaults a missing prefix to empty', () => {
    expect(backupSettingsFormSchema.parse({})).toEqual({ filenamePrefix: '' });
  });

  it('carries the field path on errors', () => {
    const r = backupSettingsFormSchema.safeParse({ filenamePrefix: '../x' });
    expect(r.error!.issues).toEqual([expect.objectContaining({ path: ['filenamePrefix'], message: MALFORMED })]);
  });
});

describe('backupSettingsSchema (stored form)', () => {
  it('requires the prefix to be a string', () => {
    expect(backupSettingsSchema.safeParse({}).success).toBe(false);
    expect(backupSettingsSchema.safeParse({ filenamePrefix: 5 }).success).toBe(false);
    expect(backupSettingsSchema.parse({ filenamePrefix: 'a' }).filenamePrefix).toBe('a');
  });
});
