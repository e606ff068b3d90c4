import { jsonBody, withAuth } from '@/lib/http/route';
import { pinHostKey } from '@/lib/sources';
import { pinHostKeySchema } from '@/lib/sources/schemas';

/** An admin confirmed the fingerprint: pin it. */
export const POST = withAuth(
  'backup:restore',
  async ({ actor, req }) => {
    const { host, port, keyType, fingerprint } = await jsonBody(req, pinHostKeySchema);
    const pinned = pinHostKey(host, port, keyType, fingerprint, actor);
    return { pinned: { host: pinned.host, port: pinned.port, keyType: pinned.keyType, fingerprint: pinned.fingerprint } };
  },
  { name: 'api.restore.remote.pin' },
);
