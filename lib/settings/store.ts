import { eq } from 'drizzle-orm';
import type { z } from 'zod';
import { db } from '../db/client';
import { settings } from '../db/schema';
import { log } from '../log';

/**
 * Typed access to the settings table. Each key has its zod schema; a stored
 * value that no longer parses is reported and treated as absent rather than
 * trusted.
 */
export function getSetting<S extends z.ZodType>(key: string, schema: S): z.infer<S> | undefined {
  const row = db().select().from(settings).where(eq(settings.key, key)).get();
  if (!row) return undefined;
  const parsed = schema.safeParse(JSON.parse(row.value));
  if (!parsed.success) {
    log.error({ event: 'settings.invalid', key }, 'stored setting does not match its schema');
    return undefined;
  }
  return parsed.data;
}

export function putSetting<S extends z.ZodType>(key: string, schema: S, value: z.infer<S>, updatedBy: string): void {
  const json = JSON.stringify(schema.parse(value));
  db()
    .insert(settings)
    .values({ key, value: json, updatedAt: new Date(), updatedBy })
    .onConflictDoUpdate({ target: settings.key, set: { value: json, updatedAt: new Date(), updatedBy } })
    .run();
}
