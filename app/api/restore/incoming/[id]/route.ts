import { withAuth } from '@/lib/http/route';
import { discardIncoming } from '@/lib/restore/incoming';

/** Discards an uploaded or fetched file that will not be restored. */
export const DELETE = withAuth<{ id: string }>('backup:restore', async ({ params }) => (discardIncoming(params.id), { ok: true }), { name: 'api.restore.incoming.discard' });
