import { allAuditEntries } from '@/lib/audit/query';
import { auditFilterSchema } from '@/lib/audit/schemas';
import { csvRecord } from '@/lib/csv/csv';
import { withAuth } from '@/lib/http/route';

const HEADER = ['Time (UTC)', 'Who', 'From', 'What', 'Outcome', 'Reason', 'Action', 'Target'];

/** GET /api/audit/export?<the page's filter> — every matching entry as CSV, streamed in batches. */
export const GET = withAuth(
  'audit:read',
  async ({ req }) => {
    const filter = auditFilterSchema.parse(Object.fromEntries(req.nextUrl.searchParams));
    const rows = allAuditEntries(filter);
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(csvRecord(HEADER)));
      },
      pull(controller) {
        // One batch of records per pull, so a slow client holds back the reading.
        let chunk = '';
        for (let i = 0; i < 200; i++) {
          const next = rows.next();
          if (next.done) {
            if (chunk) controller.enqueue(encoder.encode(chunk));
            controller.close();
            return;
          }
          const e = next.value;
          chunk += csvRecord([e.at, e.who, e.from, e.sentence, e.outcome, e.reason, e.action, e.target]);
        }
        controller.enqueue(encoder.encode(chunk));
      },
    });
    const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
    return new Response(body, {
      headers: {
        'Content-Type': 'text/csv; charset=utf-8',
        'Content-Disposition': `attachment; filename="webconf-audit-${stamp}.csv"`,
        'Cache-Control': 'no-store',
      },
    });
  },
  { name: 'api.audit.export' },
);
