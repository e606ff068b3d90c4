import { recentAuditEvents } from '@/lib/audit/audit';
import { withAuth } from '@/lib/http/route';

export const GET = withAuth('audit:read', async () => ({ events: recentAuditEvents(200) }), { name: 'api.audit.read' });
