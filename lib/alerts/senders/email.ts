import tls from 'node:tls';
import nodemailer from 'nodemailer';
import type { AlertMessage, EmailConfig } from '../schemas';
import { AlertSendError, connectionWords } from '../send-error';

/**
 * E-mail over SMTP (nodemailer): STARTTLS is required (a server that does
 * not offer it is refused before any password is sent; port 465 speaks TLS
 * from the start), then AUTH LOGIN with the channel's user and password. The
 * server's certificate is always verified: against the system CAs plus the
 * channel's trusted certificate when the admin pasted one.
 */
const TIMEOUT_MS = 15_000;

export async function sendEmail(config: EmailConfig, password: string, message: AlertMessage): Promise<void> {
  const transport = nodemailer.createTransport({
    host: config.host,
    port: config.port,
    secure: config.port === 465,
    requireTLS: config.port !== 465,
    auth: { user: config.username, pass: password },
    authMethod: 'LOGIN',
    tls: {
      servername: /^[\d.:[\]]+$/.test(config.host) ? undefined : config.host,
      minVersion: 'TLSv1.2',
      rejectUnauthorized: true,
      ca: config.trustedCa ? [...tls.rootCertificates, config.trustedCa] : undefined,
    },
    connectionTimeout: TIMEOUT_MS,
    greetingTimeout: TIMEOUT_MS,
    socketTimeout: TIMEOUT_MS,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  try {
    await transport.sendMail({
      from: config.from,
      to: config.to,
      subject: message.subject,
      text: message.text,
      headers: { 'X-Webconf-Alert': message.kind, ...(message.condition ? { 'X-Webconf-Condition': message.condition } : {}) },
    });
  } catch (err) {
    throw new AlertSendError(emailWords(err, config));
  } finally {
    transport.close();
  }
}

function emailWords(err: unknown, config: EmailConfig): string {
  const e = err as Error & { code?: string; responseCode?: number; response?: string; command?: string };
  const at = `${config.host}:${config.port}`;
  if (e.code === 'EAUTH') return `The SMTP server ${at} refused the login of ${config.username}: wrong user name or password${e.responseCode ? ` (${e.responseCode})` : ''}.`;
  if (e.code === 'ETLS' || /STARTTLS/i.test(e.message)) return `The SMTP server ${at} does not offer STARTTLS; the console sends no password without TLS.`;
  const net = connectionWords(err, config.host, config.port);
  if (net) return net;
  if (e.code === 'EENVELOPE' || (e.responseCode && e.responseCode >= 500)) {
    return `The SMTP server ${at} refused the message${e.responseCode ? ` (${e.responseCode})` : ''}: ${(e.response ?? e.message).slice(0, 200)}`;
  }
  return `The e-mail to ${config.to.join(', ')} could not be sent through ${at}: ${e.message.slice(0, 200)}`;
}
