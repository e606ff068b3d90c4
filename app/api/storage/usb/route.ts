import { listUsbDrives } from '@/lib/usb/drives';
import { withAuth } from '@/lib/http/route';
import { usbDriveView } from '@/lib/storage/usb-view';

/** The attached USB drives (re-checked every 3 minutes; ?refresh=1 checks now), and why a known drive is not offered. */
export const GET = withAuth(
  'storage:browse',
  async ({ req }) => {
    const list = await listUsbDrives({ refresh: req.nextUrl.searchParams.get('refresh') === '1' });
    return usbDriveView(list);
  },
  { name: 'api.storage.usb.list', touch: true },
);
