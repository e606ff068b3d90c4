import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { createUserSchema, deleteUserSchema, newPasswordSchema, signInSchema, usernameSchema } from '@/lib/accounts/schemas';

function messages(schema: z.ZodType, value: unknown): string[] {
  const r = schema.safeParse(value);
  return r.success ? [] : r.error.issues.map((i) => i.message);
}

const MALFORMED = 'Use lower-case letters, digits, dot, dash or underscore, starting with a letter.';

describe('usernameSchema', () => {
  it.each(['', '   ', undefined, null, 42])('%j → "Enter a username." first', (v) => {
    expect(messages(usernameSchema, v)[0]).toBe('Enter a username.');
  });

  it('too long → the length message', () => {
    expect(messages(usernameSchema, 'a'.repeat(33))).toEqual(['A username has at most 32 characters.']);
  });

  it('too short → the length message', () => {
    expect(messages(usernameSchema, 'ab')).toEqual(['A username has at least 3 characters.']);
  });

  it.each(['Alice', '1alice', '-alice', '.alice', 'al ice', 'al/ice', 'al@ice', 'élise', 'ali\nce', 'a<b>c'])('malformed %j → the character rule', (v) => {
    expect(messages(usernameSchema, v)).toEqual([MALFORMED]);
  });

  it.each(['abc', 'alice', 'a.b-c_d', 'user01', 'a'.repeat(32)])('valid %j passes', (v) => {
    expect(usernameSchema.parse(v)).toBe(v);
  });

  it('trims surrounding spaces before checking', () => {
    expect(usernameSchema.parse('  alice  ')).toBe('alice');
  });
});

describe('newPasswordSchema', () => {
  it.each(['', undefined, null])('%j → "Enter a password." first', (v) => {
    expect(messages(newPasswordSchema, v)[0]).toBe('Enter a password.');
  });

  it('11 characters → too short', () => {
    expect(messages(newPasswordSchema, 'x'.repeat(11))).toEqual(['A password has at least 12 characters.']);
  });

  it('129 characters → too long', () => {
    expect(messages(newPasswordSchema, 'x'.repeat(129))).toEqual(['A password has at most 128 characters.']);
  });

  it.each([12, 128])('%i characters pass, unchanged (no trimming of passwords)', (n) => {
    const pw = ` ${'x'.repeat(n - 2)} `;
    expect(newPasswordSchema.parse(pw)).toBe(pw);
  });
});

describe('createUserSchema', () => {
  const valid = { username: 'alice', displayName: 'Alice', role: 'operator', password: 'a-long-password', confirmPassword: 'a-long-password' };

  it('accepts a valid form and defaults the display name to empty', () => {
    const { displayName: _d, ...rest } = valid;
    expect(createUserSchema.parse(rest)).toEqual({ ...rest, displayName: '' });
  });

  it('mismatched passwords are reported on confirmPassword', () => {
    const r = createUserSchema.safeParse({ ...valid, confirmPassword: 'a-long-passworD' });
    expect(r.success).toBe(false);
    expect(r.error!.issues).toEqual([expect.objectContaining({ path: ['confirmPassword'], message: 'The passwords do not match.' })]);
  });

  it.each(['otp', 'root', '', undefined])('role %j is refused with the role message', (role) => {
    const r = createUserSchema.safeParse({ ...valid, role });
    expect(r.success).toBe(false);
    expect(r.error!.issues).toEqual([expect.objectContaining({ path: ['role'], message: 'Choose a role: admin, operator or support.' })]);
  });

  it.each(['admin', 'operator', 'support'])('role %s is accepted', (role) => {
    expect(createUserSchema.parse({ ...valid, role }).role).toBe(role);
  });

  it('a display name over 64 characters is refused', () => {
    expect(messages(createUserSchema, { ...valid, displayName: 'x'.repeat(65) })).toEqual(['A display name has at most 64 characters.']);
  });

  it('an empty confirmation asks for it', () => {
    expect(messages(createUserSchema, { ...valid, confirmPassword: '' })).toContain('Repeat the password.');
  });

  it('ties each error to its field', () => {
    const r = createUserSchema.safeParse({ username: 'A', role: 'x', password: 'short', confirmPassword: 'short' });
    expect(new Set(r.error!.issues.map((i) => i.path[0]))).toEqual(new Set(['username', 'role', 'password']));
  });
});

describe('deleteUserSchema', () => {
  it('coerces a numeric id from form data', () => {
    expect(deleteUserSchema.parse({ id: '12' })).toEqual({ id: 12 });
  });

  it.each(['abc', '0', '-3', '1.5', undefined])('%j → Unknown user.', (id) => {
    expect(messages(deleteUserSchema, { id })[0]).toBe('Unknown user.');
  });
});

describe('signInSchema', () => {
  it('requires both fields with their own messages', () => {
    expect(messages(signInSchema, { username: '', password: '' })).toEqual(['Enter your username.', 'Enter your password.']);
    expect(messages(signInSchema, {})).toEqual(['Enter your username.', 'Enter your password.']);
  });

  it('bounds the lengths', () => {
    expect(messages(signInSchema, { username: 'u'.repeat(65), password: 'p' })).toEqual(['A username has at most 64 characters.']);
    expect(messages(signInSchema, { username: 'u', password: 'p'.repeat(129) })).toEqual(['A password has at most 128 characters.']);
  });

  it('trims the username but not the password', () => {
    expect(signInSchema.parse({ username: ' alice ', password: ' pw ' })).toEqual({ username: 'alice', password: ' pw ' });
  });
});
