'use client';
import { useActionState, useState } from 'react';
import type { StorageConfig } from '@/lib/storage/schemas';
import { Field } from '@/app/ui/field';
import { FormMessage } from '@/app/ui/form-message';
import { SubmitButton } from '@/app/ui/submit-button';
import { useResetSafeSelect } from '@/app/ui/use-reset-safe-select';
import { saveStorageAction } from './actions';

/** Backup Storage Settings: the Storage Type and its location. */
export function StorageForm({ config }: { config: StorageConfig }) {
  const [state, action] = useActionState(saveStorageAction, undefined);
  const [type, setType] = useState(state?.values?.type ?? config.type);
  // After a refused NFS URL the select would otherwise show, and send, "None".
  const select = useResetSafeSelect(type);
  return (
    <form action={action} noValidate aria-labelledby="storage-title" className="max-w-xl">
      <h3 id="storage-title" className="mb-2 font-semibold">Backup Storage Settings</h3>
      <FormMessage state={state} />
      <div className="mb-4">
        <label htmlFor="type" className="block text-sm font-medium text-slate-700">Storage Type</label>
        <select ref={select} id="type" name="type" value={type} onChange={(e) => setType(e.target.value as StorageConfig['type'])}
          className="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm">
          <option value="none">None</option>
          <option value="nfs">Network File Setting (NFS)</option>
          <option value="local">Local folder</option>
        </select>
      </div>
      {type === 'local' ? (
        <Field name="path" label="Folder path" defaultValue={state?.values?.path ?? (config.type === 'local' ? config.path : '')} errors={state?.fieldErrors?.path}
          hint="An absolute path on a disk attached to the appliance, e.g. /srv/backups." />
      ) : null}
      {type === 'nfs' ? (
        <Field name="url" label="NFS URL" defaultValue={state?.values?.url ?? (config.type === 'nfs' ? config.url : 'nfs://')} errors={state?.fieldErrors?.url}
          hint="nfs://server/path, e.g. nfs://10.0.0.5/backups?version=4.2. NFS Version 4, 4.1 (default) or 4.2; the console connects itself, nothing is mounted." />
      ) : null}
      <SubmitButton>Use This Location</SubmitButton>
    </form>
  );
}
