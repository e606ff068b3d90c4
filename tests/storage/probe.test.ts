import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalFolderTarget } from '@/lib/storage/local-folder';
import { probeLocation } from '@/lib/storage/probe';
import type { StorageTarget } from '@/lib/storage/types';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-probe-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('probe file', () => {
  it('writes, reads back and removes a probe file, leaving the folder as it was', async () => {
    expect(await probeLocation(new LocalFolderTarget(dir))).toBeNull();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('refuses a location whose read-back differs, and removes the probe', async () => {
    const real = new LocalFolderTarget(dir);
    const lying: StorageTarget = Object.assign(Object.create(real), {
      read: async (name: string) => {
        const s = await real.read(name);
        const { Readable } = await import('node:stream');
        const chunks: Buffer[] = [];
        for await (const c of s) chunks.push(c as Buffer);
        const b = Buffer.concat(chunks);
        b[100] = b[100]! ^ 1;
        return Readable.from([b]);
      },
    });
    expect(await probeLocation(lying)).toMatch(/read back differs/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('says why when the folder cannot be written (a missing folder), and leaves nothing', async () => {
    const gone = path.join(dir, `gone-${crypto.randomBytes(3).toString('hex')}`);
    expect(await probeLocation(new LocalFolderTarget(gone))).toMatch(/does not exist|failed/);
    expect(fs.existsSync(gone)).toBe(false);
  });
});
