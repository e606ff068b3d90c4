import { approveDevice } from '@/lib/fleet/devices';
import { deviceViewOf } from '@/lib/fleet/views';
import { withAuth } from '@/lib/http/route';

export const POST = withAuth<{ name: string }>('devices:configure', async ({ actor, params }) => deviceViewOf(approveDevice(actor, params.name)), { name: 'api.devices.approve' });
