'use client';

/**
 * The Managed devices page talks to the console's JSON API (the same routes the
 * command line uses: /api/fleet, /api/devices). One shape for every answer: the
 * data, or a message and per-field errors to show at the fields.
 */
export type ApiResult<T> = { ok: true; data: T } | { ok: false; status: number; message: string; fields: Record<string, string[]> };

export async function api<T>(method: string, url: string, body?: unknown): Promise<ApiResult<T>> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch {
    return { ok: false, status: 0, message: 'The console did not answer. Check the connection and try again.', fields: {} };
  }
  const json = (await res.json().catch(() => null)) as { error?: { message?: string; fields?: Record<string, string[]> } } | null;
  if (!res.ok) {
    return { ok: false, status: res.status, message: json?.error?.message ?? `The console answered ${res.status}.`, fields: json?.error?.fields ?? {} };
  }
  return { ok: true, data: json as T };
}

export type DeviceView = {
  name: string;
  host: string;
  port: number;
  username: string;
  authKind: 'password' | 'key';
  model: string;
  exportCommand: string | null;
  state: 'PENDING' | 'SYNCED' | 'NOT SYNCED';
  backup: 'enabled' | 'disabled';
  key: 'org' | 'device' | '-';
  hostKey: { pinned: string | null; presented: string | null; changed: boolean };
  firmwareVersion: string | null;
  lastContactAt: string | null;
  lastError: string | null;
  lastBackup: { at: string; status: 'SUCCESS' | 'FAILED'; message: string | null } | null;
};

export type FleetConfigView = {
  status: 'enabled' | 'disabled';
  storage: { kind: 's3'; endpoint: string; region: string; bucket: string; folder: string; accessKeyId: string; secretKey: 'configured' } | { kind: 'console' } | null;
  schedule: { cron: string; timezone: string };
  encryptionKey: { configured: boolean; recipient: string | null };
  retention: number;
  createdAt: string | null;
  updatedAt: string | null;
  updatedBy: string | null;
};

export type StatusRow = { name: string; backup: 'Enabled' | 'Disabled'; key: 'org' | 'device' | '-'; lastBackupAt: string | null; status: 'SUCCESS' | 'FAILED' | null; message: string | null };
export type FleetStatus = { devices: StatusRow[]; total: number; enabled: number };

export type RunView = {
  id: number;
  status: 'running' | 'succeeded' | 'failed' | 'partial' | 'cancelled';
  trigger: string;
  startedAt: string;
  finishedAt: string | null;
  tasks: { device: string; status: 'PENDING' | 'IN PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED'; unchanged: boolean; error: string | null }[];
};

export const MODELS = [
  { id: 'opnsense', label: 'OPNsense (cat /conf/config.xml)' },
  { id: 'cisco-ios', label: 'Cisco IOS (show running-config)' },
  { id: 'generic', label: 'Generic (a command you give)' },
] as const;
