import { ownerFile } from './paths';
import { livePid, removeOwnPid, writePid } from './pid-file';

/**
 * Which process runs a restore: its pid in <data>/restore/owner.pid from the
 * lock to the end. Start-up recovery settles only a restore whose process is
 * gone; a restore another process (the command line, the console) is running
 * right now is left alone. A recycled pid at worst delays recovery until
 * that process ends.
 */
export const claimRestore = () => writePid(ownerFile());
export const releaseRestore = () => removeOwnPid(ownerFile());
export const restoreOwnerAlive = () => livePid(ownerFile());
