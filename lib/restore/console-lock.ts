import fs from 'node:fs';
import path from 'node:path';
import { dataDir } from '../env';

/**
 * The running console announces itself in <data>/console.pid, so that the
 * `webconf restore` command never switches the database under a console
 * that has it open (the console restores from its own Backup page instead).
 */
function pidFile(): string {
  return path.join(dataDir(), 'console.pid');
}

export function announceConsole(): void {
  fs.writeFileSync(pidFile(), `${process.pid}\n`, { mode: 0o600 });
}

export function withdrawConsole(): void {
  try {
    if (fs.readFileSync(pidFile(), 'utf8').trim() === String(process.pid)) fs.rmSync(pidFile(), { force: true });
  } catch {
    // not announced
  }
}

/** The pid of a console serving this data folder right now, or null. */
export function runningConsole(): number | null {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile(), 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return null;
  try {
    process.kill(pid, 0);
  } catch {
    return null;
  }
  // A recycled pid that is not a console does not count.
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes('server.ts')) return null;
  } catch {
    return null;
  }
  return pid;
}
