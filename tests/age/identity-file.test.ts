import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgeKeyError, formatIdentityFile, generateX25519Identity, parseIdentityFile, readIdentityFile, writeIdentityFile, type AgeKeyReason } from '@/lib/age';
import { MAX_IDENTITY_FILE_SIZE } from '@/lib/age/format';
import { thrown } from './helpers';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'age-identity-file-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const refused = (parse: () => unknown) => thrown(AgeKeyError, parse);

describe('identity files', () => {
  it('formats as age-keygen does and parses back', () => {
    const id = generateX25519Identity();
    const text = formatIdentityFile(id, { created: new Date('2026-03-04T05:06:07.890Z') });
    expect(text).toBe(`# created: 2026-03-04T05:06:07Z\n# public key: ${id.recipient}\n${id.exportSecretKey()}\n`);
    const [back, ...more] = parseIdentityFile(text);
    expect(more).toEqual([]);
    expect(back!.exportSecretKey()).toBe(id.exportSecretKey());
  });

  it('reads several keys, CRLF line ends, blank lines, other comments and a byte-order mark', () => {
    const a = generateX25519Identity();
    const b = generateX25519Identity();
    const text = `\uFEFF${formatIdentityFile(a)}\n# a note about the next one\n\n  \n${b.exportSecretKey()}\n`.replace(/\n/g, '\r\n');
    const ids = parseIdentityFile(text);
    expect(ids.map((i) => i.recipient.toString())).toEqual([a.recipient.toString(), b.recipient.toString()]);
  });

  it('reads a key with no comments and no final line end', () => {
    const id = generateX25519Identity();
    expect(parseIdentityFile(id.exportSecretKey())[0]!.recipient.equals(id.recipient)).toBe(true);
  });

  describe('refuses in words, naming the line', () => {
    const a = generateX25519Identity();
    const b = generateX25519Identity();
    const cases: Array<[string, string, AgeKeyReason, number | undefined, RegExp]> = [
      ['an empty file', '\n \n', 'empty', undefined, /The identity file is empty/],
      ['comments only', '# created: 2026-01-01T00:00:00Z\n# public key: age1xyz\n', 'no-identity', undefined, /holds no age secret key/],
      ['a recipient instead of a key', `# my key\n${a.recipient}\n`, 'wrong-kind', 2, /^Line 2 of the identity file: that is an age recipient/],
      ['a garbled second key', `${a.exportSecretKey()}\n\n${b.exportSecretKey().slice(0, -2)}\n`, 'bad-checksum', 3, /^Line 3 of the identity file: the age secret key is mistyped/],
      ['a post-quantum key', `AGE-SECRET-KEY-PQ-1${'Q'.repeat(60)}\n`, 'unsupported', 1, /^Line 1 of the identity file: a post-quantum .* is not supported/],
      ['a public key comment for another key', `# public key: ${b.recipient}\n${a.exportSecretKey()}\n`, 'public-key-mismatch', 1, /^Line 1 of the identity file: the "# public key:" comment does not match/],
      ['an age-encrypted identity file', 'age-encryption.org/v1\n-> scrypt abc 18\n', 'encrypted-identity-file', undefined, /itself encrypted with age: decrypt it first/],
      ['an armored one', '\n-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n', 'encrypted-identity-file', undefined, /decrypt it first/],
    ];
    it.each(cases)('%s', (_name, text, reason, line, message) => {
      const err = refused(() => parseIdentityFile(text));
      expect(err.reason).toBe(reason);
      expect(err.line).toBe(line);
      expect(err.message).toMatch(message);
      expect(err.message).not.toContain(a.exportSecretKey().slice(16, 40));
      expect(err.message).not.toContain(b.exportSecretKey().slice(16, 40));
    });
  });

  it('writes a 0600 file that reads back, and never replaces a file', async () => {
    const id = generateX25519Identity();
    const file = path.join(dir, 'org.key');
    await writeIdentityFile(file, id);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const [back] = await readIdentityFile(file);
    expect(back!.exportSecretKey()).toBe(id.exportSecretKey());

    const other = generateX25519Identity();
    await expect(writeIdentityFile(file, other)).rejects.toMatchObject({ code: 'EEXIST' });
    expect((await readIdentityFile(file))[0]!.recipient.equals(id.recipient)).toBe(true);
    // No temporary file is left behind, either way.
    expect(fs.readdirSync(dir).filter((n) => n.includes('org.key'))).toEqual(['org.key']);
  });

  it('leaves nothing when the folder does not exist', async () => {
    await expect(writeIdentityFile(path.join(dir, 'missing', 'x.key'), generateX25519Identity())).rejects.toMatchObject({ code: 'ENOENT' });
    expect(fs.existsSync(path.join(dir, 'missing'))).toBe(false);
  });

  it('refuses to read a file too large to be an identity file', async () => {
    const file = path.join(dir, 'big.key');
    fs.writeFileSync(file, `${generateX25519Identity().exportSecretKey()}\n${'#'.repeat(MAX_IDENTITY_FILE_SIZE)}\n`);
    await expect(readIdentityFile(file)).rejects.toMatchObject({ name: 'AgeKeyError', reason: 'too-large', message: expect.stringMatching(/too large .*64 KiB/) });
  });
});
