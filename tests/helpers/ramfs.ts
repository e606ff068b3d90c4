import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A ramfs mounted on a fresh folder: a real file system that refuses
 * O_DIRECT (Linux creates the file, then answers EINVAL), for the fallback
 * paths of lib/storage/direct-file.ts and lib/backup/read-back.ts. Mounting
 * needs root; `unmount` also removes the folder.
 */
export const canMount = process.getuid?.() === 0;

export function mountRamfs(): { dir: string; unmount: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-ramfs-'));
  execFileSync('mount', ['-t', 'ramfs', 'ramfs', dir]);
  return {
    dir,
    unmount: () => {
      execFileSync('umount', [dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
