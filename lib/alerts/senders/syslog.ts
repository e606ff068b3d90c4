import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import tls from 'node:tls';
import type { AlertMessage, SyslogConfig } from '../schemas';
import { AlertSendError, connectionWords } from '../send-error';
import { formatRfc5424, octetCountingFrame, type Severity } from '../syslog-format';

/**
 * Syslog: one RFC 5424 message per alert over UDP (one datagram), TCP or TLS
 * (octet-counted frames; TLS verifies the server's certificate against the
 * system CAs plus the channel's trusted one). UDP has no acknowledgement: a
 * datagram sent is counted as delivered, unless the host answers that the
 * port is closed.
 */
const TIMEOUT_MS = 10_000;
const SEVERITY: Record<AlertMessage['kind'], Severity> = { failure: 'err', reminder: 'err', recovery: 'notice', test: 'info' };

export function syslogLine(message: AlertMessage, hostname = os.hostname()): string {
  return formatRfc5424({
    severity: SEVERITY[message.kind],
    timestamp: new Date(message.at),
    hostname,
    appName: 'webconf',
    procId: String(process.pid),
    msgId: `alert-${message.kind}`,
    // 32473: the private enterprise number reserved for documentation (RFC 5612).
    structuredData: { 'webconf@32473': { kind: message.kind, condition: message.condition ?? '', where: message.where } },
    message: message.text.replace(/\s*\n+\s*/g, ' | '),
  });
}

export async function sendSyslog(config: SyslogConfig, message: AlertMessage): Promise<void> {
  const line = syslogLine(message);
  try {
    if (config.transport === 'udp') await sendUdp(config, Buffer.from(line, 'utf8'));
    else await sendStream(config, octetCountingFrame(line));
  } catch (err) {
    throw new AlertSendError(connectionWords(err, config.host, config.port) ?? `The syslog server ${config.host}:${config.port} (${config.transport.toUpperCase()}) could not be reached: ${(err as Error).message.slice(0, 200)}`);
  }
}

function sendUdp(config: SyslogConfig, payload: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(config.host) ? 'udp6' : 'udp4');
    const done = (err?: Error) => {
      socket.close();
      if (err) reject(err);
      else resolve();
    };
    socket.once('error', done);
    socket.connect(config.port, config.host, () => socket.send(payload, (err) => done(err ?? undefined)));
  });
}

function sendStream(config: SyslogConfig, frame: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket =
      config.transport === 'tls'
        ? tls.connect({
            host: config.host,
            port: config.port,
            servername: net.isIP(config.host) ? undefined : config.host,
            minVersion: 'TLSv1.2',
            ca: config.trustedCa ? [...tls.rootCertificates, config.trustedCa] : undefined,
          })
        : net.connect({ host: config.host, port: config.port });
    socket.setTimeout(TIMEOUT_MS, () => socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    socket.once('error', reject);
    socket.once(config.transport === 'tls' ? 'secureConnect' : 'connect', () => {
      // end() flushes the frame, then the half-close; 'close' after the server's FIN means it was taken.
      socket.end(frame);
    });
    socket.once('close', (hadError) => {
      if (!hadError) resolve();
    });
  });
}
