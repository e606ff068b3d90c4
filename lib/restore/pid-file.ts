import fs from 'node:fs';
import path from 'node:path';

/**
 * A pid file: which process holds something right now. Written by the
 * holder, removed by it when done; a pid that is no longer alive (the
 * holder was killed) counts as nobody. `alsoCheck` lets a caller reject a
 * recycled pid that is some other program.
 */
export function writePid(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${process.pid}\n`, { mode: 0o600 });
}

/** Removes the file if this process wrote it. */
export function removeOwnPid(file: string): void {
  try {
    if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.rmSync(file, { force: true });
  } catch {
    // not written
  }
}

/** The pid of another live process named in the file, or null. */
export function livePid(file: string, alsoCheck: (pid: number) => boolean = () => true): number | null {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(file, 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return null;
  try {
    process.kill(pid, 0);
  } catch {
    return null;
  }
  return alsoCheck(pid) ? pid : null;
}
