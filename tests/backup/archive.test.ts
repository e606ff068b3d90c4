import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { packArchive, tarSize, type SourceMember } from '@/lib/backup/archive';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-tar-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function member(rel: string, size: number): SourceMember {
  const file = path.join(dir, `${Math.random()}`);
  fs.writeFileSync(file, Buffer.alloc(size, 7));
  const st = fs.statSync(file);
  return { path: rel, kind: 'system', size, source: file, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino };
}

describe('tarSize', () => {
  it('predicts exactly the bytes packArchive writes, for short, splittable, long and non-ASCII names', async () => {
    const members = [
      member('system/a.conf', 0),
      member('system/b.conf', 1),
      member(`system/${'d/'.repeat(60)}x.conf`, 513),
      member(`system/${'x'.repeat(150)}.conf`, 1000),
      member(`system/${'deep/'.repeat(120)}long.conf`, 70_000),
      member('system/réseau.conf', 10),
    ];
    let bytes = 0;
    await pipeline(
      packArchive(65024, new Date(), members, () => new PassThrough()),
      new Writable({
        write(c, _e, cb) {
          bytes += c.length;
          cb();
        },
      }),
    );
    expect(bytes).toBe(tarSize(65024, members));
  });
});
