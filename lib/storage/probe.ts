import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import type { StorageTarget } from './types';

/**
 * Proves a location takes backups before it is saved: a probe file is
 * written, flushed, read back byte for byte and removed, through the same
 * target code a backup uses. The probe's name starts with a dot and is
 * unique, so it never meets a backup or another console's probe; on any
 * failure it is removed where it was created. Returns a reason in words, or
 * null when the location works.
 */
const PROBE_BYTES = 64 * 1024;

async function readAll(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    chunks.push(c as Buffer);
    n += (c as Buffer).length;
    if (n > limit) break;
  }
  return Buffer.concat(chunks);
}

export async function probeLocation(target: StorageTarget): Promise<string | null> {
  const name = `.webconf-probe-${crypto.randomBytes(6).toString('hex')}`;
  const data = crypto.randomBytes(PROBE_BYTES);
  let created = false;
  try {
    const writer = await target.create(name);
    created = true;
    try {
      await writer.writeAt(0, data);
      await writer.finishWrites?.();
      await writer.commit();
    } catch (err) {
      await writer.abort().catch(() => undefined);
      throw err;
    }
    const back = await readAll(await target.read(name), PROBE_BYTES);
    if (!back.equals(data)) return `${target.label}: a test file read back differs from what was written.`;
    await target.remove(name);
    created = false;
    return null;
  } catch (err) {
    return (err as Error).message || 'the location could not be written';
  } finally {
    if (created) await target.remove(name).catch(() => undefined);
  }
}
