/**
 * RFC 5424 syslog messages and their framing. Knows nothing of the console.
 *
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ID PARAM="VALUE" ...] BOM MSG
 *
 * PRI = facility * 8 + severity. Over UDP each message is one datagram
 * (RFC 5426); over TCP (RFC 6587 §3.4.1) and TLS (RFC 5425) each is framed by
 * octet counting: the message's length in bytes, one space, the message.
 */
export const SEVERITY = { emerg: 0, alert: 1, crit: 2, err: 3, warning: 4, notice: 5, info: 6, debug: 7 } as const;
export type Severity = keyof typeof SEVERITY;
export const FACILITY_DAEMON = 3;

const NILVALUE = '-';
const UTF8_BOM = '\u{FEFF}';

/** PRINTUSASCII without space, at most `max` characters (header fields). */
function headerField(value: string | undefined, max: number): string {
  const v = (value ?? '').replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return v || NILVALUE;
}

/** SD-NAME: printable US-ASCII except '=', ' ', ']', '"' (at most 32). */
function sdName(name: string): string {
  return name.replace(/[^\x21-\x7e]|[= \]"]/g, '').slice(0, 32);
}

/** PARAM-VALUE: '"', '\' and ']' are escaped with a backslash. */
function sdValue(value: string): string {
  return value.replace(/[\\"\]]/g, (c) => `\\${c}`);
}

export type SyslogMessage = {
  facility?: number;
  severity: Severity;
  timestamp: Date;
  hostname: string;
  appName: string;
  procId?: string;
  msgId?: string;
  /** Structured data: SD-ID → parameters. */
  structuredData?: Record<string, Record<string, string>>;
  message: string;
};

export function formatRfc5424(m: SyslogMessage): string {
  const pri = (m.facility ?? FACILITY_DAEMON) * 8 + SEVERITY[m.severity];
  const sd = Object.entries(m.structuredData ?? {})
    .map(([id, params]) => `[${sdName(id)}${Object.entries(params).map(([k, v]) => ` ${sdName(k)}="${sdValue(v)}"`).join('')}]`)
    .join('');
  return [
    `<${pri}>1`,
    m.timestamp.toISOString(),
    headerField(m.hostname, 255),
    headerField(m.appName, 48),
    headerField(m.procId, 128),
    headerField(m.msgId, 32),
    sd || NILVALUE,
  ].join(' ') + (m.message ? ` ${UTF8_BOM}${m.message}` : '');
}

/** RFC 6587 octet-counting frame: "<byte length> <message>". */
export function octetCountingFrame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}
