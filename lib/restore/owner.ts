import fs from 'node:fs';
import { restoreRoot, ownerFile } from './paths';

/**
 * Which process runs a restore: its pid in <data>/restore/owner.pid from the
 * lock to the end. Start-up recovery settles only a restore whose process is
 * gone; a restore another process (the command line, the console) is running
 * right now is left alone. A recycled pid at worst delays recovery until
 * that process ends.
 */
export function claimRestore(): void {
  fs.mkdirSync(restoreRoot(), { recursive: true, mode: 0o700 });
  fs.writeFileSync(ownerFile(), `${process.pid}\n`, { mode: 0o600 });
}

export function releaseRestore(): void {
  try {
    if (fs.readFileSync(ownerFile(), 'utf8').trim() === String(process.pid)) fs.rmSync(ownerFile(), { force: true });
  } catch {
    // not claimed
  }
}

/** The pid of another live process running a restore on this data folder, or null. */
export function restoreOwnerAlive(): number | null {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(ownerFile(), 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}
