import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Decrypter, Encrypter } from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgeNoMatchError, encryptWithPassphrase } from '@/lib/age';
import { decryptBuffer, encryptBuffer, through } from './helpers';
import { ignoreEpipe } from '../helpers/child-io';

/**
 * Independent implementations: Debian's `age` CLI (Go reference, v1.1.1)
 * and the npm package age-encryption (typage, by the same author) must open
 * our files, and we must open theirs.
 */

const PASSPHRASE = 'Domain Master Secret: "quoted", spaced & $ymbols!';
const SIZES = [0, 1, 65536, 3 * 65536 + 5, 2 * 1024 * 1024 + 7];

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'age-peers-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs the age CLI under `script`, which gives it the terminal it reads
 * passphrases from; `lines` are typed into that terminal.
 */
function ageCli(args: string[], lines: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', ['age', ...args].map(quote).join(' '), '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
    // age may refuse and exit before reading every line: EPIPE is not a failure.
    child.stdin.on('error', ignoreEpipe);
    child.stdin.end(lines.map((l) => l + '\n').join(''));
  });
}

describe('the age CLI (Debian age 1.1.1)', () => {
  beforeAll(() => {
    if (!hasTool('age') || !hasTool('script')) {
      throw new Error('the age CLI or script is missing: run scripts/install-test-deps.sh');
    }
  });

  it.each(SIZES)('decrypts our %i-byte file', async (size) => {
    const plaintext = crypto.randomBytes(size);
    const input = path.join(dir, `ours-${size}.age`);
    const output = path.join(dir, `ours-${size}.out`);
    fs.writeFileSync(input, await encryptBuffer(plaintext, PASSPHRASE));
    const { code, output: log } = await ageCli(['-d', '-o', output, input], [PASSPHRASE]);
    expect(code, log).toBe(0);
    // age creates the output file on its first write: none for an empty plaintext.
    const got = fs.existsSync(output) ? fs.readFileSync(output) : Buffer.alloc(0);
    expect(got.equals(plaintext)).toBe(true);
  });

  it('decrypts our file at the default work factor (2^18)', async () => {
    const plaintext = crypto.randomBytes(100_000);
    const input = path.join(dir, 'default.age');
    const output = path.join(dir, 'default.out');
    fs.writeFileSync(input, (await through(await encryptWithPassphrase(PASSPHRASE), plaintext)).data);
    const { code, output: log } = await ageCli(['-d', '-o', output, input], [PASSPHRASE]);
    expect(code, log).toBe(0);
    expect(fs.readFileSync(output).equals(plaintext)).toBe(true);
  });

  it('refuses our file with a wrong passphrase, and a damaged one', async () => {
    const input = path.join(dir, 'wrong.age');
    const file = await encryptBuffer(crypto.randomBytes(70_000), PASSPHRASE);
    fs.writeFileSync(input, file);
    expect((await ageCli(['-d', '-o', path.join(dir, 'wrong.out'), input], ['not it'])).code).not.toBe(0);
    file[file.length - 20]! ^= 1;
    fs.writeFileSync(input, file);
    expect((await ageCli(['-d', '-o', path.join(dir, 'wrong.out'), input], [PASSPHRASE])).code).not.toBe(0);
  });

  it.each([0, 200_000])('makes %i-byte files (age -p) that we decrypt', async (size) => {
    const plaintext = crypto.randomBytes(size);
    const input = path.join(dir, `theirs-${size}.bin`);
    const output = path.join(dir, `theirs-${size}.age`);
    fs.writeFileSync(input, plaintext);
    const { code, output: log } = await ageCli(['-p', '-o', output, input], [PASSPHRASE, PASSPHRASE]);
    expect(code, log).toBe(0);
    const { data, error } = await decryptBuffer(fs.createReadStream(output), PASSPHRASE);
    expect(error).toBeNull();
    expect(data.equals(plaintext)).toBe(true);
    await expect(decryptBuffer(fs.createReadStream(output), 'not it')).rejects.toBeInstanceOf(AgeNoMatchError);
  });
});

describe('typage (npm age-encryption)', () => {
  it.each(SIZES)('decrypts our %i-byte file', async (size) => {
    const plaintext = crypto.randomBytes(size);
    const d = new Decrypter();
    d.addPassphrase(PASSPHRASE);
    const out = await d.decrypt(await encryptBuffer(plaintext, PASSPHRASE));
    expect(Buffer.from(out).equals(plaintext)).toBe(true);
  });

  it('refuses our file with a wrong passphrase', async () => {
    const d = new Decrypter();
    d.addPassphrase('not it');
    await expect(d.decrypt(await encryptBuffer(Buffer.from('x'), PASSPHRASE))).rejects.toThrow();
  });

  it.each(SIZES)('makes %i-byte files that we decrypt', async (size) => {
    const plaintext = crypto.randomBytes(size);
    const e = new Encrypter();
    e.setPassphrase(PASSPHRASE);
    e.setScryptWorkFactor(10);
    const file = Buffer.from(await e.encrypt(plaintext));
    const { data, error } = await decryptBuffer(file, PASSPHRASE, 10_000);
    expect(error).toBeNull();
    expect(data.equals(plaintext)).toBe(true);
  });
});
