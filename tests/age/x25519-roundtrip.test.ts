import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AgeHeaderError,
  AgeMacError,
  AgeNoIdentityMatchedError,
  AgeNoMatchError,
  AgePayloadError,
  ChunkReader,
  decryptWithIdentities,
  decryptWithPassphrase,
  encryptToRecipients,
  generateX25519Identity,
  openHeaderWithIdentities,
  sealToRecipients,
  type X25519Identity,
  type X25519Recipient,
} from '@/lib/age';
import { parseCompleteHeader } from '@/lib/age/header';
import { chunked, collect, encryptBuffer, PASS, through } from './helpers';

async function encryptTo(recipients: X25519Recipient[], plaintext: Buffer, piece?: number): Promise<Buffer> {
  const { data, error } = await through(encryptToRecipients(recipients), plaintext, piece);
  if (error) throw error;
  return data;
}

async function decryptWith(file: Buffer, identities: X25519Identity | X25519Identity[], piece?: number) {
  return collect(await decryptWithIdentities(piece ? chunked(file, piece) : file, identities));
}

/** Where in `file` the first stanza's body line starts (the line after "-> X25519 ..."). */
function firstBodyLine(file: Buffer): number {
  return file.indexOf('\n', file.indexOf('-> X25519 ')) + 1;
}

const alice = generateX25519Identity();
const bob = generateX25519Identity();
const carol = generateX25519Identity();
const mallory = generateX25519Identity();

describe('age files to X25519 recipients', () => {
  it.each([0, 1, 65535, 65536, 65537, 3 * 65536 + 5, 1024 * 1024 + 3])('round-trips %i bytes', async (size) => {
    const plaintext = crypto.randomBytes(size);
    const file = await encryptTo([alice.recipient], plaintext, 10_000);
    const { data, error } = await decryptWith(file, alice, 7_777);
    expect(error).toBeNull();
    expect(data.equals(plaintext)).toBe(true);
  });

  it('writes one X25519 stanza per recipient and nothing else, with a fresh share and file key per file', async () => {
    const plaintext = Buffer.from('running-config');
    const one = await encryptTo([alice.recipient, bob.recipient, carol.recipient], plaintext);
    const two = await encryptTo([alice.recipient, bob.recipient, carol.recipient], plaintext);
    const h1 = parseCompleteHeader(one).header;
    const h2 = parseCompleteHeader(two).header;
    expect(h1.stanzas.map((s) => [s.type, s.args.length, s.body.length])).toEqual([
      ['X25519', 1, 32],
      ['X25519', 1, 32],
      ['X25519', 1, 32],
    ]);
    const shares = new Set([...h1.stanzas, ...h2.stanzas].map((s) => s.args[0]));
    expect(shares.size).toBe(6);
    expect(h1.mac.equals(h2.mac)).toBe(false);
  });

  it('opens with any one of several recipients identities, alone or among others', async () => {
    const plaintext = crypto.randomBytes(200_000);
    const file = await encryptTo([alice.recipient, bob.recipient, carol.recipient], plaintext);
    for (const ids of [alice, bob, carol, [mallory, carol], [mallory, bob, alice]]) {
      const { data, error } = await decryptWith(file, ids);
      expect(error).toBeNull();
      expect(data.equals(plaintext)).toBe(true);
    }
  });

  it('gives one stanza to a recipient named twice', async () => {
    const file = await encryptTo([alice.recipient, bob.recipient, alice.recipient], Buffer.from('x'));
    expect(parseCompleteHeader(file).header.stanzas.length).toBe(2);
  });

  it('needs at least one recipient and one identity', async () => {
    expect(() => encryptToRecipients([])).toThrow(TypeError);
    const file = await encryptTo([alice.recipient], Buffer.from('x'));
    await expect(decryptWithIdentities(file, [])).rejects.toThrow(TypeError);
  });

  it('"no identity matched" with a wrong identity, in words', async () => {
    const file = await encryptTo([alice.recipient, bob.recipient], Buffer.from('secret configuration'));
    const err = await decryptWithIdentities(file, [mallory, carol]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AgeNoIdentityMatchedError);
    expect(err).toBeInstanceOf(AgeNoMatchError);
    const e = err as AgeNoIdentityMatchedError;
    expect(e.reason).toBe('no-identity-matched');
    expect(e.kind).toBe('no-match');
    expect(e.identities).toBe(2);
    expect(e.recipients).toBe(2);
    expect(e.message).toMatch(/^No identity matched: none of the given age secret keys opens this backup file$/);
  });

  it('keeps passphrase and X25519 files apart: each refuses the other in words', async () => {
    const scryptFile = await encryptBuffer(Buffer.from('appliance backup'));
    const err = await decryptWithIdentities(scryptFile, alice).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgeNoMatchError);
    expect(err).not.toBeInstanceOf(AgeNoIdentityMatchedError);
    expect((err as AgeNoMatchError).reason).toBe('passphrase-encrypted');
    expect((err as Error).message).toMatch(/encrypted with a passphrase, not to an age key/);

    const x25519File = await encryptTo([alice.recipient], Buffer.from('device backup'));
    const err2 = await decryptWithPassphrase(x25519File, PASS).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(AgeNoMatchError);
    expect((err2 as AgeNoMatchError).reason).toBe('not-passphrase-encrypted');
  });

  describe('damage', () => {
    it('a flipped bit in the wrapped file key: the identity no longer opens it', async () => {
      const file = await encryptTo([alice.recipient], Buffer.from('x'));
      const at = firstBodyLine(file) + 5;
      file[at] = file[at] === 0x41 ? 0x42 : 0x41;
      await expect(decryptWithIdentities(file, alice)).rejects.toBeInstanceOf(AgeNoIdentityMatchedError);
    });

    it('a changed stanza of another recipient: the header MAC fails', async () => {
      const file = await encryptTo([alice.recipient, bob.recipient], Buffer.from('x'));
      // Bob's stanza is the second one; Alice's still opens, then the MAC over the whole header fails.
      const second = file.indexOf('\n', file.indexOf('-> X25519 ', file.indexOf('-> X25519 ') + 1)) + 1;
      file[second + 3] = file[second + 3] === 0x41 ? 0x42 : 0x41;
      await expect(decryptWithIdentities(file, alice)).rejects.toBeInstanceOf(AgeMacError);
    });

    it('an X25519 stanza breaking its rules is a header error, even beside one that opens', async () => {
      const file = await encryptTo([alice.recipient], Buffer.from('x'));
      const text = file.toString('latin1');
      const extra = Buffer.from(text.replace(/^(-> X25519 \S+)$/m, '$1 extra'), 'latin1');
      const err = await decryptWithIdentities(extra, alice).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AgeHeaderError);
      expect((err as AgeHeaderError).reason).toBe('malformed');
      expect((err as Error).message).toMatch(/invalid header \(an X25519 stanza has exactly one argument/);

      // A second stanza whose share is 32 zero bytes (a low-order point), after the first one's body line.
      const low = Buffer.from(text.replace(/^(-> X25519 \S+\n[^\n]*)$/m, `$1\n-> X25519 ${'A'.repeat(43)}\n${'A'.repeat(43)}`), 'latin1');
      await expect(decryptWithIdentities(low, alice)).rejects.toMatchObject({ reason: 'malformed', message: expect.stringMatching(/low-order point/) });
    });

    it('a flipped payload bit: the plaintext stream fails', async () => {
      const file = await encryptTo([alice.recipient], crypto.randomBytes(100_000));
      file[file.length - 100]! ^= 1;
      const { error, dataAfterError } = await decryptWith(file, alice);
      expect(error).toBeInstanceOf(AgePayloadError);
      expect(dataAfterError).toBe(0);
    });
  });

  it('opens the header for a chunk reader (the whole-file path) with identities', async () => {
    const plaintext = crypto.randomBytes(5 * 65536 + 17);
    const file = await encryptTo([bob.recipient, alice.recipient], plaintext);
    const { payloadOffset, payloadKey } = await openHeaderWithIdentities(file.subarray(0, 70_000), [alice]);
    const reader = new ChunkReader(payloadOffset, payloadKey, file.length);
    const out = Buffer.alloc(plaintext.length + 65536);
    let n = 0;
    for (let at = 0; at < file.length; at += 40_000) n += reader.feed(file.subarray(at, at + 40_000), at, out, n);
    expect(reader.end().plainBytes).toBe(plaintext.length);
    expect(out.subarray(0, n).equals(plaintext)).toBe(true);
    await expect(openHeaderWithIdentities(file.subarray(0, 70_000), mallory)).rejects.toBeInstanceOf(AgeNoIdentityMatchedError);
  });
});

describe('sealToRecipients: a whole file into memory the caller gives', () => {
  it.each([0, 1, 65535, 65536, 65537, 3 * 65536, 200 * 1024 + 3])('%i bytes: the size the stream makes, opened by each identity, tampering refused', async (size) => {
    const plaintext = crypto.randomBytes(size);
    let asked = -1;
    const sealed = sealToRecipients([alice.recipient, bob.recipient], plaintext, (n) => {
      asked = n;
      return Buffer.alloc(n, 0xee);
    });
    expect(sealed.length).toBe(asked);
    expect(sealed.length).toBe((await encryptTo([alice.recipient, bob.recipient], plaintext)).length);
    for (const id of [alice, bob]) {
      const { data, error } = await decryptWith(sealed, id, 4099);
      expect(error).toBeNull();
      expect(data.equals(plaintext)).toBe(true);
    }
    await expect(decryptWith(sealed, mallory)).rejects.toBeInstanceOf(AgeNoIdentityMatchedError);
    const bad = Buffer.from(sealed);
    bad[bad.length - 1]! ^= 1;
    expect((await decryptWith(bad, alice)).error).toBeInstanceOf(AgePayloadError);
  });

  it('a fresh file key each time; no recipient or a wrong-sized buffer is refused', () => {
    const p = Buffer.from('same plaintext');
    const a = sealToRecipients([alice.recipient], p, (n) => Buffer.alloc(n));
    const b = sealToRecipients([alice.recipient], p, (n) => Buffer.alloc(n));
    expect(a.equals(b)).toBe(false);
    expect(() => sealToRecipients([], p, (n) => Buffer.alloc(n))).toThrow(/at least one recipient/);
    expect(() => sealToRecipients([alice.recipient], p, (n) => Buffer.alloc(n + 1))).toThrow(RangeError);
  });
});
