'use client';
import { useState } from 'react';
import type { StorageConfig } from '@/lib/storage/schemas';
import { StorageBrowser } from './storage-browser';
import { UsbDrives } from './usb-drives';

/**
 * Backup Storage for support staff and operators: the configured location,
 * Browse Storage (read-only: no Use This Location) and, for a USB drive, the
 * attached drives. No form field: only an admin changes the location.
 */
export function StorageView({ config, configUrl, canVerify = false }: { config: StorageConfig; configUrl: string | null; canVerify?: boolean }) {
  const [browsing, setBrowsing] = useState<string | null>(null);
  return (
    <div className="text-sm">
      {configUrl ? (
        <p className="mb-2 break-all font-mono text-xs text-slate-700" data-testid="storage-url">{configUrl}</p>
      ) : (
        <p className="mb-2 text-slate-600">No storage location is configured yet. An admin chooses one.</p>
      )}
      {configUrl ? (
        <button type="button" onClick={() => setBrowsing(configUrl)} className="mb-3 rounded-md border border-slate-300 bg-white px-3 py-2 text-sm font-semibold hover:bg-slate-100">
          Browse Storage
        </button>
      ) : null}
      {config.type === 'usb' ? <UsbDrives canEject={false} onBrowse={setBrowsing} /> : null}
      <p className="text-xs text-slate-500">Only an admin can change the backup storage.</p>
      {browsing ? <StorageBrowser open startUrl={browsing} canSave={false} canVerify={canVerify} onClose={() => setBrowsing(null)} /> : null}
    </div>
  );
}
