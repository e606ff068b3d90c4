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
  // The list is polled every 3 minutes: polling is not activity (the session still ends after 30 idle minutes).
  { name: 'api.storage.usb.list', touch: false },
);
