'use client';
import { useCallback, useEffect, useState } from 'react';
import { Banner } from '@/app/ui/banner';
import { AddDeviceForm } from './add-device-form';
import { api, type DeviceView, type FleetConfigView, type FleetStatus, type RunView } from './api';
import { DeviceList } from './device-list';
import { FleetConfig } from './fleet-config';
import { RunProgress } from './run-progress';
import { StatusTable } from './status-table';

type Can = { configure: boolean; run: boolean; download: boolean };

/** The Managed devices page: reads the JSON API and follows a running backup every 2 s. */
export function DevicesConsole({ can }: { can: Can }) {
  const [config, setConfig] = useState<FleetConfigView | null>(null);
  const [status, setStatus] = useState<FleetStatus | null>(null);
  const [devices, setDevices] = useState<DeviceView[]>([]);
  const [run, setRun] = useState<RunView | null>(null);
  const [error, setError] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    const [c, s, d] = await Promise.all([
      api<FleetConfigView>('GET', '/api/fleet/config'),
      api<FleetStatus>('GET', '/api/fleet/status'),
      api<{ devices: DeviceView[] }>('GET', '/api/devices'),
    ]);
    const failed = [c, s, d].find((r) => !r.ok);
    setError(failed && !failed.ok ? failed.message : null);
    if (c.ok) setConfig(c.data);
    if (s.ok) setStatus(s.data);
    if (d.ok) setDevices(d.data.devices);
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  // A running backup is followed until it ends; then the table shows its outcome.
  useEffect(() => {
    if (!run || run.status !== 'running') return;
    const t = setTimeout(async () => {
      const r = await api<RunView>('GET', `/api/fleet/runs/${run.id}`);
      if (r.ok) {
        setRun(r.data);
        if (r.data.status !== 'running') void refresh();
      }
    }, 2000);
    return () => clearTimeout(t);
  }, [run, refresh]);

  async function start(names?: string[]) {
    const r = await api<{ runId: number }>('POST', '/api/fleet/runs', names ? { devices: names } : {});
    if (!r.ok) return setError(r.message);
    setError(null);
    const v = await api<RunView>('GET', `/api/fleet/runs/${r.data.runId}`);
    if (v.ok) setRun(v.data);
  }

  async function cancel() {
    if (!run) return;
    const r = await api<unknown>('POST', `/api/fleet/runs/${run.id}/cancel`);
    if (!r.ok) setError(r.message);
  }

  const running = run?.status === 'running';
  return (
    <div className="space-y-6">
      {error ? <Banner kind="error">{error}</Banner> : null}
      {run ? <RunProgress run={run} canCancel={can.run} onCancel={() => void cancel()} /> : null}
      {status ? <StatusTable status={status} canRun={can.run} running={running} onRun={(names) => void start(names)} /> : <p className="text-sm text-slate-600">Loading…</p>}
      <FleetConfig config={config} canConfigure={can.configure} onSaved={() => void refresh()} />
      <DeviceList devices={devices} canConfigure={can.configure} canDownload={can.download} canRun={can.run} running={running} onChanged={() => void refresh()} onRun={(names) => void start(names)} />
      {can.configure ? <AddDeviceForm onAdded={() => void refresh()} /> : null}
    </div>
  );
}
