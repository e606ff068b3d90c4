import type { AlertChannel } from '../../db/schema';
import { storedConfigSchemas, type AlertMessage } from '../schemas';
import { AlertSendError } from '../send-error';
import { sendEmail } from './email';
import { sendSyslog } from './syslog';
import { sendWebhook } from './webhook';

/** Sends one message through one channel; `secret` is the channel's opened secret. Throws AlertSendError in words. */
export async function sendThrough(channel: Pick<AlertChannel, 'kind' | 'config'>, secret: string | null, message: AlertMessage): Promise<void> {
  const raw = JSON.parse(channel.config) as unknown;
  switch (channel.kind) {
    case 'email':
      if (!secret) throw new AlertSendError('The channel has no SMTP password; edit it and enter one.');
      return sendEmail(storedConfigSchemas.email.parse(raw), secret, message);
    case 'webhook':
      if (!secret) throw new AlertSendError('The channel has no signing secret; edit it and enter one.');
      return sendWebhook(storedConfigSchemas.webhook.parse(raw), secret, message);
    case 'syslog':
      return sendSyslog(storedConfigSchemas.syslog.parse(raw), message);
  }
}
