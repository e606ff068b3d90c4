import { statusView } from '@/lib/fleet/views';
import { withAuth } from '@/lib/http/route';

export const GET = withAuth('devices:read', async () => statusView(), { name: 'api.fleet.status', touch: false });
