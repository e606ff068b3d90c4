import { browse } from '@/lib/storage/browser';
import { browseQuerySchema } from '@/lib/storage/schemas';
import { withAuth } from '@/lib/http/route';
import { storageRefusal } from '@/lib/storage/refusal';

/** One page of a folder of a storage location: sorted, filtered, with a cursor to the next page and, on the first page, Storage Information. */
export const GET = withAuth(
  'storage:browse',
  async ({ req }) => {
    const q = browseQuerySchema.parse(Object.fromEntries(req.nextUrl.searchParams));
    return storageRefusal(() => browse(q.url, { filter: q.filter, cursor: q.cursor, limit: q.limit }));
  },
  { name: 'api.storage.browse', touch: true },
);
