import { auditPage } from '@/lib/audit/query';
import { auditFilterSchema } from '@/lib/audit/schemas';
import { withAuth } from '@/lib/http/route';

/** GET /api/audit?user=&action=&outcome=&from=&to=&before=&limit= — one page, newest first; nextBefore is the next page's cursor. */
export const GET = withAuth(
  'audit:read',
  async ({ req }) => auditPage(auditFilterSchema.parse(Object.fromEntries(req.nextUrl.searchParams))),
  { name: 'api.audit.read' },
);
