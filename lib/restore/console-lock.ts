import fs from 'node:fs';
import path from 'node:path';
import { dataDir } from '../env';
import { livePid, removeOwnPid, writePid } from './pid-file';

/**
 * The running console announces itself in <data>/console.pid, so that the
 * `webconf restore` command never switches the database under a console
 * that has it open (the console restores from its own Backup page instead).
 */
const pidFile = () => path.join(dataDir(), 'console.pid');

export const announceConsole = () => writePid(pidFile());
export const withdrawConsole = () => removeOwnPid(pidFile());

/** The pid of a console serving this data folder right now, or null (a recycled pid that is not a console does not count). */
export function runningConsole(): number | null {
  return livePid(pidFile(), (pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('server.ts');
    } catch {
      return false;
    }
  });
}
