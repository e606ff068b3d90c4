import { describe, expect, it } from 'vitest';
import { formatRfc5424, octetCountingFrame } from '@/lib/alerts/syslog-format';

describe('RFC 5424 formatting', () => {
  it('writes the header, escaped structured data and a BOM before the message', () => {
    const line = formatRfc5424({
      severity: 'err',
      timestamp: new Date('2026-12-02T02:00:00.123Z'),
      hostname: 'app liance',
      appName: 'webconf',
      procId: '42',
      msgId: 'alert-failure',
      structuredData: { 'webconf@32473': { why: 'a "quoted" ] \\ value' } },
      message: 'Backup failed',
    });
    // daemon (3) * 8 + err (3) = 27; a space in the host name is not allowed there and is dropped.
    expect(line).toBe('<27>1 2026-12-02T02:00:00.123Z appliance webconf 42 alert-failure [webconf@32473 why="a \\"quoted\\" \\] \\\\ value"] \u{FEFF}Backup failed');
  });
  it('uses the NILVALUE for empty fields and no structured data', () => {
    expect(formatRfc5424({ severity: 'info', timestamp: new Date(0), hostname: '', appName: 'x', message: '' })).toBe('<30>1 1970-01-01T00:00:00.000Z - x - - -');
  });
  it('frames by octet count (bytes, not characters)', () => {
    expect(octetCountingFrame('é!').toString('utf8')).toBe('3 é!');
  });
});
