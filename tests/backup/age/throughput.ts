/**
 * Hand-run throughput check of the age payload streams (no assertions; not a
 * test file). Run: npx tsx tests/backup/age/throughput.ts [MiB]
 * Feeds 1 MiB writes through the encrypt stream, then the ciphertext back in
 * 64 KiB pieces (as a file stream reads) through the decrypt stream.
 */
import crypto from 'node:crypto';
import { createDecryptStream, createEncryptStream } from '../../../lib/backup/age';
import type { Transform } from 'node:stream';

const MiB = 1024 * 1024;
const total = Number(process.argv[2] ?? 1024) * MiB;

function run(stream: Transform, pieces: Iterable<Buffer>, keep: boolean): Promise<{ seconds: number; out: Buffer[] }> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const start = process.hrtime.bigint();
    stream.on('data', (b: Buffer) => keep && out.push(b));
    stream.on('error', reject);
    stream.on('end', () => resolve({ seconds: Number(process.hrtime.bigint() - start) / 1e9, out }));
    const it = pieces[Symbol.iterator]();
    const pump = () => {
      for (;;) {
        const next = it.next();
        if (next.done) return void stream.end();
        if (!stream.write(next.value)) return void stream.once('drain', pump);
      }
    };
    pump();
  });
}

function* repeat(block: Buffer, bytes: number): Generator<Buffer> {
  for (let done = 0; done < bytes; done += block.length) yield block.subarray(0, Math.min(block.length, bytes - done));
}

function* pieces(all: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < all.length; i += size) yield all.subarray(i, i + size);
}

async function main() {
  const key = crypto.randomBytes(16);
  const block = crypto.randomBytes(MiB);
  const gbps = (bytes: number, s: number) => (bytes / s / 1e9).toFixed(2);
  const sample = Math.min(total, 256 * MiB);
  const { out } = await run(createEncryptStream(key), repeat(block, sample), true);
  const ciphertext = Buffer.concat(out);
  out.length = 0;

  // Three rounds; the machine is shared, so look at the best and the spread.
  for (let round = 1; round <= 3; round++) {
    const enc = await run(createEncryptStream(key), repeat(block, total), false);
    let seconds = 0;
    for (let done = 0; done < total; done += sample) seconds += (await run(createDecryptStream(key), pieces(ciphertext, 64 * 1024), false)).seconds;
    console.log(
      `round ${round}: encrypt ${total / MiB} MiB in ${enc.seconds.toFixed(3)} s = ${gbps(total, enc.seconds)} GB/s; ` +
        `decrypt (64 KiB reads) in ${seconds.toFixed(3)} s = ${gbps(total, seconds)} GB/s`,
    );
  }
  console.log(`rss ${(process.memoryUsage().rss / MiB).toFixed(0)} MiB (includes the ${sample / MiB} MiB ciphertext sample)`);
}

void main();
