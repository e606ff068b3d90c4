import type { UsbDriveList } from '../usb/drives';

/**
 * The USB drives as the Storage Type "USB drive" offers them: each
 * supported partition with its label, size and free space, and apart the
 * known drives that are not offered, each with the reason (full, not GPT
 * partitioned, a file system other than ext4 or exFAT), so that a drive the
 * admin just attached never silently goes missing. Device nodes are
 * today's names only: a drive is chosen by its file system's UUID.
 */
export type UsbDriveView = {
  checkedAt: string;
  drives: { uuid: string; label: string | null; fsType: string | null; sizeBytes: number; freeBytes: number | null; totalBytes: number | null; model: string | null; serial: string | null; mounted: boolean; url: string }[];
  hidden: { name: string; reason: string }[];
};

export function usbDriveView(list: UsbDriveList): UsbDriveView {
  const drives: UsbDriveView['drives'] = [];
  const hidden: UsbDriveView['hidden'] = [];
  for (const d of list.disks) {
    if (!d.supported) hidden.push({ name: [d.vendor, d.model].filter(Boolean).join(' ') || d.device, reason: d.unsupportedReason ?? 'not supported' });
  }
  for (const p of list.partitions) {
    const name = p.label ?? p.uuid ?? p.device;
    if (!p.supported || !p.uuid) hidden.push({ name, reason: p.unsupportedReason ?? 'no supported file system' });
    else if (p.hiddenReason) hidden.push({ name, reason: p.hiddenReason });
    else
      drives.push({
        uuid: p.uuid,
        label: p.label,
        fsType: p.fsType,
        sizeBytes: p.sizeBytes,
        freeBytes: p.space?.freeBytes ?? null,
        totalBytes: p.space?.totalBytes ?? null,
        model: p.model,
        serial: p.serial,
        mounted: p.mounted,
        url: `usb://${encodeURIComponent(p.uuid)}/`,
      });
  }
  return { checkedAt: list.checkedAt.toISOString(), drives, hidden };
}
