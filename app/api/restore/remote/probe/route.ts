import { jsonBody, withAuth } from '@/lib/http/route';
import { probeHostKey } from '@/lib/sources';
import { probeHostKeySchema } from '@/lib/sources/schemas';

/** The host key a remote host presents, and whether it is the pinned one (shown for confirmation on first use). */
export const POST = withAuth(
  'backup:restore',
  async ({ req }) => {
    const { host, port } = await jsonBody(req, probeHostKeySchema);
    return { hostKey: await probeHostKey(host, port, { signal: req.signal }) };
  },
  { name: 'api.restore.remote.probe' },
);
