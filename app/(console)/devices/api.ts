'use client';
import type { runView, statusView } from '@/lib/fleet/views';

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

// The answers' shapes are the routes' own (lib/fleet), imported as types only: nothing of lib runs in the browser.
export type { DeviceView } from '@/lib/fleet/views';
export type { FleetConfigView } from '@/lib/fleet/config';
export type FleetStatus = ReturnType<typeof statusView>;
export type RunView = ReturnType<typeof runView>;

export const MODELS = [
  { id: 'opnsense', label: 'OPNsense (cat /conf/config.xml)' },
  { id: 'cisco-ios', label: 'Cisco IOS (show running-config)' },
  { id: 'generic', label: 'Generic (a command you give)' },
] as const;
