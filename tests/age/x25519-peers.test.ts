import { execFile, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Decrypter, Encrypter, generateX25519Identity as typageIdentity, identityToRecipient } from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AgeNoIdentityMatchedError,
  decryptWithIdentities,
  encryptToRecipients,
  generateX25519Identity,
  parseX25519Identity,
  parseX25519Recipient,
  readIdentityFile,
  sealToRecipients,
  writeIdentityFile,
  type X25519Identity,
  type X25519Recipient,
} from '@/lib/age';
import { collect, through } from './helpers';
import { ignoreEpipe } from '../helpers/child-io';

/**
 * X25519 mode against independent implementations: Debian's `age` and
 * `age-keygen` (Go reference, 1.1.1) and the npm package age-encryption
 * (typage). Both directions, one and several recipients, identity files
 * either side wrote.
 */

const SIZES = [0, 1, 65536, 3 * 65536 + 5, 2 * 1024 * 1024 + 7];

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'age-x25519-peers-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs a CLI to completion (no terminal needed in X25519 mode); stdout and stderr as text. */
function run(cmd: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
    // A CLI that quits without reading its input (age -d -i FILE) closes the pipe:
    // EPIPE there is not a failure; its exit code and output say what happened.
    child.stdin!.on('error', ignoreEpipe);
    child.stdin!.end(input ?? '');
  });
}

async function encryptTo(recipients: X25519Recipient[], plaintext: Buffer): Promise<Buffer> {
  const { data, error } = await through(encryptToRecipients(recipients), plaintext);
  if (error) throw error;
  return data;
}

async function decryptWith(file: Buffer | fs.ReadStream, identities: X25519Identity[]): Promise<Buffer> {
  const { data, error } = await collect(await decryptWithIdentities(file, identities));
  if (error) throw error;
  return data;
}

/** An identity file made by age-keygen -o, and its recipient as age-keygen -y prints it. */
async function keygen(name: string): Promise<{ file: string; recipient: string }> {
  const file = path.join(dir, name);
  const made = await run('age-keygen', ['-o', file]);
  expect(made.code, made.stderr).toBe(0);
  const shown = await run('age-keygen', ['-y', file]);
  expect(shown.code, shown.stderr).toBe(0);
  return { file, recipient: shown.stdout.trim() };
}

function readOutput(file: string): Buffer {
  // age creates the output file on its first write: none for an empty plaintext.
  return fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(0);
}

describe('Debian age and age-keygen (1.1.1)', () => {
  beforeAll(() => {
    for (const tool of ['age', 'age-keygen']) {
      if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is missing: run scripts/install-test-deps.sh`);
    }
  });

  it('reads identity files age-keygen writes, with the recipient age-keygen -y prints', async () => {
    const { file, recipient } = await keygen('keygen.txt');
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toMatch(/^# created: \S+\n# public key: age1\S+\nAGE-SECRET-KEY-1\S+\n$/);
    const [id, ...more] = await readIdentityFile(file);
    expect(more).toEqual([]);
    expect(id!.recipient.toString()).toBe(recipient);
    expect(parseX25519Recipient(recipient).equals(id!.recipient)).toBe(true);
  });

  it('derives the recipient age-keygen -y derives, for the test vectors identity too', async () => {
    for (const id of [generateX25519Identity(), parseX25519Identity('AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0')]) {
      const shown = await run('age-keygen', ['-y'], id.exportSecretKey() + '\n');
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout.trim()).toBe(id.recipient.toString());
    }
  });

  it.each(SIZES)('age -r encrypts %i bytes to our recipient, and we decrypt them', async (size) => {
    const ours = generateX25519Identity();
    const plaintext = crypto.randomBytes(size);
    const input = path.join(dir, `plain-${size}`);
    const output = path.join(dir, `theirs-${size}.age`);
    fs.writeFileSync(input, plaintext);
    const r = await run('age', ['-r', ours.recipient.toString(), '-o', output, input]);
    expect(r.code, r.stderr).toBe(0);
    expect((await decryptWith(fs.createReadStream(output), [ours])).equals(plaintext)).toBe(true);
  });

  it.each(SIZES)('age -d -i (an age-keygen identity file) decrypts our %i-byte file', async (size) => {
    const { file: idFile, recipient } = await keygen(`keygen-${size}.txt`);
    const plaintext = crypto.randomBytes(size);
    const input = path.join(dir, `ours-${size}.age`);
    const output = path.join(dir, `ours-${size}.out`);
    fs.writeFileSync(input, await encryptTo([parseX25519Recipient(recipient)], plaintext));
    const r = await run('age', ['-d', '-i', idFile, '-o', output, input]);
    expect(r.code, r.stderr).toBe(0);
    expect(readOutput(output).equals(plaintext)).toBe(true);
  });

  it.each(SIZES)('age -d -i decrypts a %i-byte file sealToRecipients wrote whole into a reused buffer', async (size) => {
    const { file: idFile, recipient } = await keygen(`sealed-${size}.txt`);
    const plaintext = crypto.randomBytes(size);
    const input = path.join(dir, `sealed-${size}.age`);
    const output = path.join(dir, `sealed-${size}.out`);
    // A buffer with old contents and room to spare: sealToRecipients takes exactly what it asks for.
    const memory = crypto.randomBytes(size + 4096);
    const sealed = sealToRecipients([parseX25519Recipient(recipient)], plaintext, (n) => memory.subarray(0, n));
    expect(sealed.buffer).toBe(memory.buffer);
    fs.writeFileSync(input, sealed);
    const r = await run('age', ['-d', '-i', idFile, '-o', output, input]);
    expect(r.code, r.stderr).toBe(0);
    expect(readOutput(output).equals(plaintext)).toBe(true);
  });

  it('files to several recipients open either way with each identity', async () => {
    const a = await keygen('multi-a.txt');
    const b = await keygen('multi-b.txt');
    const ours = generateX25519Identity();
    const ourFile = path.join(dir, 'ours.key');
    await writeIdentityFile(ourFile, ours);
    const plaintext = crypto.randomBytes(150_000);

    // Ours to three recipients: age opens it with each identity file, ours (writeIdentityFile) included.
    const input = path.join(dir, 'multi.age');
    fs.writeFileSync(input, await encryptTo([parseX25519Recipient(a.recipient), ours.recipient, parseX25519Recipient(b.recipient)], plaintext));
    for (const idFile of [a.file, b.file, ourFile]) {
      const output = path.join(dir, `multi-${path.basename(idFile)}.out`);
      const r = await run('age', ['-d', '-i', idFile, '-o', output, input]);
      expect(r.code, r.stderr).toBe(0);
      expect(fs.readFileSync(output).equals(plaintext)).toBe(true);
    }

    // Theirs to three recipients: we open it with each identity.
    const plain = path.join(dir, 'multi.bin');
    const theirs = path.join(dir, 'multi-theirs.age');
    fs.writeFileSync(plain, plaintext);
    const r = await run('age', ['-r', a.recipient, '-r', ours.recipient.toString(), '-r', b.recipient, '-o', theirs, plain]);
    expect(r.code, r.stderr).toBe(0);
    for (const ids of [await readIdentityFile(a.file), await readIdentityFile(b.file), [ours]]) {
      expect((await decryptWith(fs.readFileSync(theirs), ids)).equals(plaintext)).toBe(true);
    }
  });

  it('a wrong identity is refused both ways', async () => {
    const a = await keygen('wrong-a.txt');
    const stranger = await keygen('wrong-stranger.txt');
    const input = path.join(dir, 'wrong.age');
    fs.writeFileSync(input, await encryptTo([parseX25519Recipient(a.recipient)], Buffer.from('config')));
    const r = await run('age', ['-d', '-i', stranger.file, '-o', path.join(dir, 'wrong.out'), input]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no identity matched/);

    const plain = path.join(dir, 'wrong.bin');
    const theirs = path.join(dir, 'wrong-theirs.age');
    fs.writeFileSync(plain, 'config');
    expect((await run('age', ['-r', a.recipient, '-o', theirs, plain])).code).toBe(0);
    await expect(decryptWithIdentities(fs.readFileSync(theirs), await readIdentityFile(stranger.file))).rejects.toBeInstanceOf(AgeNoIdentityMatchedError);
  });

  it('age refuses what we refuse: a mistyped recipient', async () => {
    const good = generateX25519Identity().recipient.toString();
    const bad = good.slice(0, 30) + (good[30] === 'q' ? 'p' : 'q') + good.slice(31);
    expect(() => parseX25519Recipient(bad)).toThrow(/checksum/);
    const plain = path.join(dir, 'typo.bin');
    fs.writeFileSync(plain, 'x');
    expect((await run('age', ['-r', bad, '-o', path.join(dir, 'typo.age'), plain])).code).not.toBe(0);
  });
});

describe('typage (npm age-encryption)', () => {
  it('derives the same recipient from its identities', async () => {
    for (let i = 0; i < 3; i++) {
      const secret = await typageIdentity();
      expect(parseX25519Identity(secret).recipient.toString()).toBe(await identityToRecipient(secret));
    }
  });

  it.each(SIZES)('encrypts %i bytes to our recipient, and we decrypt them', async (size) => {
    const ours = generateX25519Identity();
    const plaintext = crypto.randomBytes(size);
    const e = new Encrypter();
    e.addRecipient(ours.recipient.toString());
    const file = Buffer.from(await e.encrypt(plaintext));
    expect((await decryptWith(file, [ours])).equals(plaintext)).toBe(true);
  });

  it.each(SIZES)('decrypts our %i-byte file with its own identity', async (size) => {
    const secret = await typageIdentity();
    const plaintext = crypto.randomBytes(size);
    const file = await encryptTo([parseX25519Recipient(await identityToRecipient(secret))], plaintext);
    const d = new Decrypter();
    d.addIdentity(secret);
    expect(Buffer.from(await d.decrypt(file)).equals(plaintext)).toBe(true);
  });

  it('decrypts our file to several recipients with each identity, and refuses a stranger', async () => {
    const secrets = [await typageIdentity(), await typageIdentity()];
    const ours = generateX25519Identity();
    const plaintext = crypto.randomBytes(70_000);
    const file = await encryptTo([...(await Promise.all(secrets.map(async (s) => parseX25519Recipient(await identityToRecipient(s))))), ours.recipient], plaintext);
    for (const secret of [...secrets, ours.exportSecretKey()]) {
      const d = new Decrypter();
      d.addIdentity(secret);
      expect(Buffer.from(await d.decrypt(file)).equals(plaintext)).toBe(true);
    }
    const stranger = new Decrypter();
    stranger.addIdentity(await typageIdentity());
    await expect(stranger.decrypt(file)).rejects.toThrow();
  });
});
