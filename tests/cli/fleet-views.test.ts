import { describe, expect, it } from 'vitest';
import { boxTable, fieldList } from '@/lib/cli/box-table';
import { renderConfig, renderRun, renderStatus, runProgress } from '@/lib/cli/fleet-views';
import { exactTime, relativeAge } from '@/lib/cli/relative-age';
import { fleetConfigSchema, fleetStatusSchema } from '@/lib/cli/schemas';

const NOW = new Date('2026-02-22T20:00:00Z');
const ago = (h: number) => new Date(NOW.getTime() - h * 3600_000).toISOString();

/** The eight devices of the NetDefense seed's `ndcli backup status`, as the console's JSON would give them. */
const SEED_STATUS = fleetStatusSchema.parse({
  devices: [
    { name: 'fw-hq-primary', backup: 'Enabled', key: 'org', lastBackupAt: ago(6), status: 'SUCCESS', message: null },
    { name: 'fw-branch-austin', backup: 'Enabled', key: 'org', lastBackupAt: ago(50), status: 'FAILED', message: 'connection refused (192.0.2.10:22)' },
    { name: 'fw-branch-chicago', backup: 'Enabled', key: 'org', lastBackupAt: ago(6.5), status: 'SUCCESS', message: null },
    { name: 'fw-branch-denver', backup: 'Enabled', key: 'org', lastBackupAt: ago(6), status: 'SUCCESS', message: null },
    { name: 'fw-guest-lobby', backup: 'Disabled', key: '-', lastBackupAt: null, status: null, message: null },
    { name: 'fw-hq-secondary', backup: 'Enabled', key: 'org', lastBackupAt: ago(6), status: 'SUCCESS', message: null },
    { name: 'fw-lab-bench', backup: 'Disabled', key: '-', lastBackupAt: null, status: null, message: null },
    { name: 'fw-staging-01', backup: 'Enabled', key: 'org', lastBackupAt: ago(25), status: 'SUCCESS', message: null },
  ],
  total: 8,
  enabled: 6,
});

// The seed's table, as published (its runs of spaces collapsed by the web page: compared below with spaces collapsed).
const SEED_LINES = [
  '╭───────────────────┬──────────┬─────┬─────────────┬───────────╮',
  '│ Device │ Backup │ Key │ Last Backup │ Status │',
  '├───────────────────┼──────────┼─────┼─────────────┼───────────┤',
  '│ fw-branch-austin │ Enabled │ org │ 2d │ ● FAILED │',
  '│ fw-branch-chicago │ Enabled │ org │ 6h │ ● SUCCESS │',
  '│ fw-branch-denver │ Enabled │ org │ 6h │ ● SUCCESS │',
  '│ fw-guest-lobby │ Disabled │ - │ Never │ - │',
  '│ fw-hq-primary │ Enabled │ org │ 6h │ ● SUCCESS │',
  '│ fw-hq-secondary │ Enabled │ org │ 6h │ ● SUCCESS │',
  '│ fw-lab-bench │ Disabled │ - │ Never │ - │',
  '│ fw-staging-01 │ Enabled │ org │ 1d │ ● SUCCESS │',
  '╰───────────────────┴──────────┴─────┴─────────────┴───────────╯',
];

describe('backup status table', () => {
  it("draws the seed's table: same rules, same cells, sorted by device, then the failures and the total", () => {
    const out = renderStatus(SEED_STATUS, NOW).split('\n');
    const table = out.slice(0, SEED_LINES.length);
    expect(table.map((l) => l.replace(/ +/g, ' '))).toEqual(SEED_LINES);
    // Every line of the table is as wide as the rules (cells padded, nothing ragged).
    expect(new Set(table.map((l) => [...l].length))).toEqual(new Set([[...SEED_LINES[0]!].length]));
    expect(table[1]).toBe('│ Device            │ Backup   │ Key │ Last Backup │ Status    │');
    expect(out.slice(SEED_LINES.length)).toEqual(['', 'Failed:', '  fw-branch-austin: connection refused (192.0.2.10:22)', '', 'Total: 8 devices (6 with backup enabled)']);
  });

  it('an empty fleet says what to do, and a device message cannot break the table', () => {
    expect(renderStatus({ devices: [], total: 0, enabled: 0 }, NOW)).toBe("No managed devices yet: add them on the console's Managed devices page.\n\nTotal: 0 devices (0 with backup enabled)");
    const one = renderStatus(
      { devices: [{ name: 'fw\u001b[2J', backup: 'Enabled', key: 'device', lastBackupAt: ago(0.01), status: 'FAILED', message: 'line one\nline two\r' }], total: 1, enabled: 1 },
      NOW,
    );
    expect(one).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    expect(one).toContain('  fw [2J: line one line two ');
    expect(one).toContain('│ 36s         │');
    expect(one).toContain('Total: 1 device (1 with backup enabled)');
  });
});

describe('boxTable and fieldList', () => {
  it('pads every cell to its column and draws rounded corners', () => {
    expect(boxTable(['A', 'Bb'], [['xyz', '●'], ['', 'long cell']])).toBe(
      ['╭─────┬───────────╮', '│ A   │ Bb        │', '├─────┼───────────┤', '│ xyz │ ●         │', '│     │ long cell │', '╰─────┴───────────╯'].join('\n'),
    );
  });
  it('aligns the values; null is a blank line', () => {
    expect(fieldList([['Status', '● ENABLED'], null, ['Encryption Key', 'x']])).toBe('Status:         ● ENABLED\n\nEncryption Key: x');
  });
});

describe('relative and exact times', () => {
  it.each([
    [null, 'Never'],
    [0, '0s'],
    [59 / 3600, '59s'],
    [1 / 60, '1m'],
    [0.99, '59m'],
    [6, '6h'],
    [23.99, '23h'],
    [24, '1d'],
    [47, '1d'],
    [48, '2d'],
    [364 * 24, '364d'],
    [366 * 24, '1y'],
    [-0.1, '0s'],
  ] as const)('%s hours ago → %s', (h, text) => {
    expect(relativeAge(h === null ? null : ago(h), NOW)).toBe(text);
  });
  it('prints exact times as the seed does, in UTC', () => {
    expect(exactTime('2026-02-20T19:19:51.123Z')).toBe('2026-02-20 19:19:51 UTC');
    expect(exactTime(null)).toBe('-');
  });
});

describe('backup config show', () => {
  const base = {
    status: 'disabled',
    storage: { kind: 's3', endpoint: 'https://s3.us-east-1.wasabisys.com', region: 'us-east-1', bucket: 'example-firewall-backups', folder: 'production', accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretKey: 'configured' },
    schedule: { cron: '0 2 * * *', timezone: 'UTC' },
    encryptionKey: { configured: true, recipient: 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p' },
    retention: 5,
    createdAt: '2026-02-20T19:19:51Z',
    updatedAt: '2026-02-20T19:19:51Z',
    updatedBy: 'admin1',
  };
  it("prints the seed's fields, the secret key never", () => {
    const out = renderConfig(fleetConfigSchema.parse(base));
    expect(out).toBe(
      [
        'Status:         ○ DISABLED',
        '',
        'S3 Endpoint:    https://s3.us-east-1.wasabisys.com',
        'S3 Region:      us-east-1',
        'S3 Bucket:      example-firewall-backups',
        'S3 Folder:      production',
        'S3 Key ID:      AKIAIOSFODNN7EXAMPLE',
        'Schedule:       0 2 * * * (UTC)',
        'Encryption Key: ● Configured',
        'Recipient:      age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p',
        'Retention:      5 most recent backups per device',
        '',
        'Created:        2026-02-20 19:19:51 UTC',
        'Updated:        2026-02-20 19:19:51 UTC by admin1',
      ].join('\n'),
    );
    expect(out).not.toContain('configured');
  });
  it('enabled, the console storage, no key yet', () => {
    const out = renderConfig(fleetConfigSchema.parse({ ...base, status: 'enabled', storage: { kind: 'console' }, encryptionKey: { configured: false, recipient: null } }));
    expect(out).toContain('Status:         ● ENABLED');
    expect(out).toContain("Storage:        The console's own backup storage location");
    expect(out).toContain('Encryption Key: ○ Not configured');
    expect(out).not.toContain('Recipient');
  });
  it('nothing configured yet', () => {
    const out = renderConfig(fleetConfigSchema.parse({ ...base, storage: null, schedule: null, createdAt: null, updatedAt: null, updatedBy: null }));
    expect(out).toContain('Storage:        ○ Not configured');
    expect(out).toContain('Created:        -');
  });
});

describe('runs', () => {
  it('a finished run: one row per device, then the counts', () => {
    const out = renderRun({
      id: 12,
      status: 'partial',
      tasks: [
        { device: 'fw-a', status: 'SUCCEEDED', unchanged: false, error: null },
        { device: 'fw-b', status: 'SUCCEEDED', unchanged: true, error: null },
        { device: 'fw-c', status: 'FAILED', unchanged: false, error: 'credentials rejected' },
      ],
    });
    expect(out.split('\n')).toEqual([
      '╭────────┬─────────────┬───────────────────────────────╮',
      '│ Device │ Status      │ Result                        │',
      '├────────┼─────────────┼───────────────────────────────┤',
      '│ fw-a   │ ● SUCCEEDED │ Stored                        │',
      '│ fw-b   │ ● SUCCEEDED │ Unchanged, no new copy stored │',
      '│ fw-c   │ ● FAILED    │ credentials rejected          │',
      '╰────────┴─────────────┴───────────────────────────────╯',
      '',
      'Run 12 partial: 2 succeeded (1 unchanged), 1 failed',
    ]);
    expect(runProgress({ id: 3, status: 'running', tasks: [{ device: 'a', status: 'FAILED' }, { device: 'b', status: 'IN PROGRESS' }] })).toBe('Run 3: 1 of 2 done (1 failed)');
  });
});
