import { deviceBackupsView } from '@/lib/fleet/views';
import { withAuth } from '@/lib/http/route';

export const GET = withAuth<{ name: string }>('devices:read', async ({ params }) => deviceBackupsView(params.name), { name: 'api.devices.backups', touch: false });
