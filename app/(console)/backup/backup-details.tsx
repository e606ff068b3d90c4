'use client';
import type { BackupDetailsView } from '@/lib/backup/backup-details-view';
import { formatSize } from '@/lib/storage/format-size';
import { CopyButton } from '@/app/ui/copy-button';
import { RelativeTime } from '@/app/ui/relative-time';

/**
 * The Backup Details table (seed): what the backup's signed manifest says,
 * read from its header and manifest only, with the checksum the console
 * recorded when it wrote and read back the file.
 */
export function BackupDetailsTable({ details: d }: { details: BackupDetailsView }) {
  const row = (label: string, value: React.ReactNode, testId?: string) => (
    <tr className="border-b border-slate-100 align-top last:border-0">
      <th scope="row" className="py-1 pr-3 text-left font-medium text-slate-600">{label}</th>
      <td className="py-1 [overflow-wrap:anywhere]" data-testid={testId}>{value}</td>
    </tr>
  );
  return (
    <table className="w-full table-fixed text-sm" aria-label="Backup Details" data-testid="backup-details">
      <colgroup>
        <col className="w-28" />
        <col />
      </colgroup>
      <tbody>
        {row('File name', d.fileName, 'details-file')}
        {row('Size', formatSize(d.sizeBytes), 'details-size')}
        {d.dms === 'this' && d.sizeBytes !== d.expectedSizeBytes
          ? row(
              'Length',
              <span className="text-red-800">
                Wrong: the manifest describes a file of {d.expectedSizeBytes} bytes, this one has {d.sizeBytes} ({d.sizeBytes < d.expectedSizeBytes ? 'cut short' : 'data added'}). It cannot be restored as it is.
              </span>,
              'details-length',
            )
          : null}
        {d.dms === 'other' ? (
          row('Domain Master Secret', <span className="text-amber-900">{d.message}</span>, 'details-dms')
        ) : (
          <>
            {row('Created', <RelativeTime iso={d.createdAt} />, 'details-created')}
            {row('Appliance', d.appliance.name, 'details-appliance')}
            {row('Appliance ID', <span className="font-mono text-xs">{d.appliance.id}</span>, 'details-appliance-id')}
            {row('Firmware version', d.appliance.firmwareVersion, 'details-firmware')}
            {row('Format version', `${d.format} ${d.formatVersion}`, 'details-format')}
            {row(
              'Contents',
              <ul data-testid="details-contents">
                {d.contents.parts.map((p) => (
                  <li key={p.kind}>
                    {p.label}: {p.included ? `${p.files} file${p.files === 1 ? '' : 's'}, ${formatSize(p.bytes)}` : 'not included'}
                  </li>
                ))}
              </ul>,
            )}
            {row('Database integrity', d.contents.database.integrityCheck, 'details-integrity')}
            {row(
              'Left out',
              d.contents.excluded.length ? (
                <ul className="list-disc pl-4" data-testid="details-excluded">
                  {d.contents.excluded.map((x) => <li key={x}>{x}</li>)}
                </ul>
              ) : (
                'Nothing'
              ),
            )}
            {row(
              'Signature',
              d.signature === 'verified' ? (
                <span className="text-green-800">Verified with this appliance&apos;s Domain Master Secret</span>
              ) : (
                <span className="text-red-800">Does not verify: the manifest was changed after it was signed</span>
              ),
              'details-signature',
            )}
          </>
        )}
        {row(
          'Checksum',
          d.checksum ? (
            <>
              <span id="details-checksum" className="font-mono text-xs">sha256:{d.checksum}</span>
              <CopyButton text={d.checksum} label="Copy the checksum" targetId="details-checksum" />
            </>
          ) : (
            <span className="text-slate-600">Not recorded: this console did not write this file (details read only its header and manifest, not the whole file).</span>
          ),
          'details-checksum',
        )}
      </tbody>
    </table>
  );
}
