import { z } from 'zod';
import { audit } from '@/lib/audit/audit';
import { runningBackup } from '@/lib/backup/runs';
import { forgetStorageState } from '@/lib/backup/engine';
import { closePooledTargets } from '@/lib/storage/target-pool';
import { ejectUsbDrive } from '@/lib/usb/drives';
import { withAuth } from '@/lib/http/route';

/** Eject: unmounts the drive cleanly so it can be pulled (refused while a backup writes to it; never a lazy unmount). */
export const POST = withAuth<{ uuid: string }>(
  'backup:configure',
  async ({ params, actor }) => {
    const { uuid } = z.object({ uuid: z.string().min(1).max(64) }).parse(params);
    // The storage browser's open target on this drive lets go first.
    await closePooledTargets((key) => key === `usb:${uuid}`);
    const result = await ejectUsbDrive(uuid, { busy: () => (runningBackup() ? 'a backup is running' : null) });
    forgetStorageState();
    audit(actor, 'storage.usb.eject', 'success', { target: uuid, detail: { unmounted: result.unmounted } });
    return result;
  },
  { name: 'api.storage.usb.eject' },
);
