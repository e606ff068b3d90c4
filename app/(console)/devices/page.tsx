import type { Metadata } from 'next';
import { pageAccess } from '@/lib/auth/page-guard';
import { can } from '@/lib/auth/roles';
import { Refused } from '@/app/ui/refused';
import { DevicesConsole } from './devices-console';

export const metadata: Metadata = { title: 'Managed devices' };
export const dynamic = 'force-dynamic';

export default async function DevicesPage() {
  const access = await pageAccess('devices:read', '/devices');
  if (!access.allowed) return <Refused title="Managed devices" message={access.message} />;
  const { role } = access.user;
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-semibold">Managed devices</h1>
        <p className="mt-1 text-sm text-slate-600">
          Configuration backups of the firewalls this console manages, over SSH, encrypted with age before they leave the console.
          {role === 'support' ? ' Support staff read the status; operators start backups and download them; admins change devices, keys and the configuration.' : ''}
        </p>
      </div>
      <DevicesConsole can={{ configure: can(role, 'devices:configure'), run: can(role, 'devices:run'), download: can(role, 'devices:download') }} />
    </div>
  );
}
