'use server';
import { revalidatePath } from 'next/cache';
import { createChannel, removeChannel, sendTest, setChannelEnabled, updateChannel } from '@/lib/alerts/channels';
import { channelEnableSchema, channelFormSchema, channelIdSchema, reminderSettingSchema } from '@/lib/alerts/schemas';
import { saveReminderHours } from '@/lib/alerts/settings';
import { audit } from '@/lib/audit/audit';
import { validatedAction } from '@/lib/auth/validated-action';

const PAGE = '/settings/alerts';

export const saveChannelAction = validatedAction(
  'alerts:configure',
  channelFormSchema,
  async ({ id, input }, { actor }) => {
    const c = id ? updateChannel(actor, id, input) : createChannel(actor, input);
    revalidatePath(PAGE);
    return { ok: true, message: id ? `Channel "${c.name}" saved.` : `Channel "${c.name}" added. Use Send test to check that alerts reach you.` };
  },
  { name: 'alerts.channel.save' },
);

export const testChannelAction = validatedAction(
  'alerts:configure',
  channelIdSchema,
  async ({ id }, { actor }) => {
    const r = await sendTest(actor, id);
    revalidatePath(PAGE);
    // The action itself succeeded either way (the test was attempted, and audited); code 'failed' says the delivery did not.
    return { ok: true, code: r.ok ? undefined : 'failed', message: r.message };
  },
  { name: 'alerts.channel.test' },
);

export const enableChannelAction = validatedAction(
  'alerts:configure',
  channelEnableSchema,
  async ({ id, enabled }, { actor }) => {
    const c = setChannelEnabled(actor, id, enabled);
    revalidatePath(PAGE);
    return { ok: true, message: `Channel "${c.name}" ${enabled ? 'enabled' : 'disabled'}.` };
  },
  { name: 'alerts.channel.enable' },
);

export const removeChannelAction = validatedAction(
  'alerts:configure',
  channelIdSchema,
  async ({ id }, { actor }) => {
    removeChannel(actor, id);
    revalidatePath(PAGE);
    return { ok: true, message: 'Channel removed; its queued alerts were dropped.' };
  },
  { name: 'alerts.channel.delete' },
);

export const saveReminderAction = validatedAction(
  'alerts:configure',
  reminderSettingSchema,
  async ({ hours }, { actor }) => {
    saveReminderHours(hours, actor.name);
    audit(actor, 'alerts.settings.update', 'success', { detail: { reminderHours: hours } });
    revalidatePath(PAGE);
    return { ok: true, message: `Reminders every ${hours} hour${hours === 1 ? '' : 's'} while something stays failed.` };
  },
  { name: 'alerts.settings.update' },
);
