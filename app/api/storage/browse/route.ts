import { browse } from '@/lib/storage/browser';
import { browseQuerySchema } from '@/lib/storage/schemas';
import { withAuth } from '@/lib/http/route';
import { storageRefusal } from '@/lib/storage/refusal';

/**
 * One page of a folder of a storage location: sorted, filtered, with a
 * cursor to the next page and, on the first page, Storage Information.
 * Sent uncompressed (no-transform): gzip of a whole folder of ten thousand
 * entries (about 1 MB) cost the appliance 12 ms of CPU here, more than the
 * bytes take over a LAN; the dialog's pages of a hundred are 10 KB.
 */
export const GET = withAuth(
  'storage:browse',
  async ({ req }) => {
    const q = browseQuerySchema.parse(Object.fromEntries(req.nextUrl.searchParams));
    const page = await storageRefusal(() => browse(q.url, { filter: q.filter, cursor: q.cursor, limit: q.limit, kept: q.kept === '1' }));
    return new Response(JSON.stringify(page), { headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store, no-transform' } });
  },
  { name: 'api.storage.browse', touch: true },
);
