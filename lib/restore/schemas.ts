import { z } from 'zod';
import { incomingIdSchema } from './incoming';

/**
 * What the Backup page and the API send to plan or start a restore. The DMS
 * is only needed on another appliance or after a factory reset; it is never
 * stored, logged or returned.
 */
export const restoreSourceInputSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('storage'), fileName: z.string().min(1, 'Choose a backup.').max(255, 'Choose a backup.') }),
  z.object({ kind: z.literal('incoming'), id: incomingIdSchema }),
]);

const dmsSchema = z
  .string()
  .max(1024, 'The Domain Master Secret has at most 1024 characters.')
  .optional()
  .transform((v) => (v ? v : undefined));

export const restorePlanRequestSchema = z.object({ source: restoreSourceInputSchema, dms: dmsSchema });

export const restoreRequestSchema = z.object({
  source: restoreSourceInputSchema,
  dms: dmsSchema,
  confirm: z.string({ error: 'Type the appliance name to confirm.' }).trim().min(1, 'Type the appliance name to confirm.').max(253, 'Type the appliance name to confirm.'),
});

export type RestoreSourceInput = z.infer<typeof restoreSourceInputSchema>;
