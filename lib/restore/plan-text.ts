import { formatSize } from '../storage/format-size';
import type { RestorePlan } from './plan';

/** The dry-run's plan as plain text, for the command line. */
export function planText(p: RestorePlan): string {
  const lines: string[] = [];
  const kv = (k: string, v: string) => lines.push(`  ${k.padEnd(22)} ${v}`);
  lines.push('Backup');
  kv('File', `${p.file.name} (${formatSize(p.file.sizeBytes)})`);
  kv('From', p.file.source);
  kv('Appliance', `${p.backup.appliance.name} (${p.backup.appliance.id})`);
  kv('Firmware version', p.backup.appliance.firmwareVersion);
  kv('Created', p.backup.createdAt);
  kv('Format version', String(p.backup.formatVersion));
  kv('Signature', 'verified with the Domain Master Secret');
  kv('Verification', 'full: every chunk, every member checksum');
  kv('Checksum (SHA-256)', p.file.checksum);
  for (const part of p.backup.parts) kv(part.label, part.included ? `${part.files} file(s), ${formatSize(part.bytes)}` : 'not included');
  lines.push('', p.blockers.length ? 'Cannot be restored here' : 'Can be restored here');
  for (const b of p.blockers) lines.push(`  ✗ ${b}`);
  if (p.warnings.length) lines.push('', 'Be aware');
  for (const w of p.warnings) lines.push(`  ! ${w}`);
  lines.push('', 'Plan');
  for (const s of p.steps) lines.push(`  ${s.part}: now ${s.now} → after ${s.after}`);
  if (p.changes.length) lines.push('', 'What changes');
  for (const c of p.changes) lines.push(`  ${c.area}: ${c.now} → ${c.after}`);
  lines.push('', 'Identity');
  for (const i of p.identity) kv(i.item, i.outcome);
  lines.push('', 'Never in a backup: restore by hand');
  for (const b of p.byHand) lines.push(`  - ${b}`);
  return lines.join('\n');
}
