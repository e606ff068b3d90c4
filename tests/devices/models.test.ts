import { describe, expect, it } from 'vitest';
import { configurationDigest } from '@/lib/devices/export';
import { deviceModel, DEVICE_MODELS } from '@/lib/devices/models';
import { ciscoIosModel } from '@/lib/devices/models/cisco-ios';
import { genericModel } from '@/lib/devices/models/generic';
import { opnsenseModel } from '@/lib/devices/models/opnsense';

/** The model library on its own: which outputs are whole configurations, what normalise sets aside, where the firmware is read. */

const salted = (salt: string) => Buffer.concat([Buffer.from('Salted__'), Buffer.from(salt.padEnd(8, 'x')), Buffer.alloc(32, 7)]).toString('base64');

function opnsense({ salt = 'aaaaaaaa', time = '1718000000.1234', rule = 'lan', tail = '' } = {}): Buffer {
  return Buffer.from(`<?xml version="1.0"?>
<opnsense>
  <system>
    <hostname>fw1</hostname>
    <domain>example.net</domain>
    <user><name>root</name><password>$2y$10$abcdefghijklmnopqrstuv</password></user>
  </system>
  <ipsec><phase1><pre-shared-key>${salted(salt)}</pre-shared-key></phase1></ipsec>
  <filter><rule><interface>${rule}</interface></rule></filter>
  <revision>
    <username>root@10.0.0.5</username>
    <time>${time}</time>
    <description>/firewall_rules.php made changes</description>
  </revision>
</opnsense>
${tail}`);
}

function cisco({ change = '10:12:01 UTC Tue Jun 4 2024', clock = '17179860', bytes = '1234', ip = '10.0.0.1', eol = '\r\n', cut = 0 } = {}): Buffer {
  const text = [
    'Building configuration...',
    '',
    `Current configuration : ${bytes} bytes`,
    '!',
    `! Last configuration change at ${change} by admin`,
    `! NVRAM config last updated at ${change} by admin`,
    '!',
    'version 15.2',
    'hostname edge-1',
    '!',
    'interface GigabitEthernet0/0',
    ` ip address ${ip} 255.255.255.0`,
    '!',
    `ntp clock-period ${clock}`,
    'end',
    '',
  ].join(eol);
  return Buffer.from(cut ? text.slice(0, -cut) : text, 'latin1');
}

describe('OPNsense', () => {
  const m = opnsenseModel();

  it('accepts a whole config.xml; reads the host name; the firmware from opnsense-version', () => {
    expect(m.check(opnsense())).toBeNull();
    expect(m.facts(opnsense())).toEqual({ hostname: 'fw1.example.net' });
    expect(m.command).toBe('cat /conf/config.xml');
    expect(m.firmwareCommand).toBe('opnsense-version');
    expect(m.firmwareVersion(opnsense(), Buffer.from('OPNsense 24.7.5 (amd64)\n'))).toBe('OPNsense 24.7.5 (amd64)');
    expect(m.firmwareVersion(opnsense(), null)).toBeUndefined();
  });

  it('refuses empty, truncated, error text and XML that is not whole', () => {
    expect(m.check(Buffer.alloc(0))).toMatch(/^is empty/);
    expect(m.check(Buffer.from('\n  \n'))).toMatch(/^is empty: .*blank lines/);
    const whole = opnsense();
    expect(m.check(whole.subarray(0, whole.length - 20))).toBe('is truncated: it does not end with </opnsense>');
    expect(m.check(whole.subarray(0, 100))).toBe('is truncated: it does not end with </opnsense>');
    expect(m.check(Buffer.from('cat: /conf/config.xml: No such file or directory\n'))).toBe(
      'is an error message, not a configuration: "cat: /conf/config.xml: No such file or directory"',
    );
    expect(m.check(Buffer.from('Permission denied\n'))).toMatch(/^is an error message/);
    expect(m.check(Buffer.from('<?xml version="1.0"?>\n<pfsense></pfsense>\n'))).toMatch(/^is not an OPNsense configuration/);
    // Ends right, but an element in the middle is cut.
    const broken = Buffer.from(whole.toString().replace('<interface>lan</interface>', '<interface>lan</interf'));
    expect(m.check(broken)).toMatch(/^is not a whole XML document \(line \d+: /);
  });

  it('checks a large configuration whole, piece by piece: a fault deep inside is found, characters split between pieces are not one', () => {
    // Multi-byte UTF-8 (2, 3 and 4 bytes) all through, so that some fall across the parser's 16 KiB pieces.
    const rows = Array.from({ length: 8000 }, (_, i) => `<rule><descr>règle ${i} – 😀</descr></rule>\n`).join('');
    const big = Buffer.from(`<?xml version="1.0"?>\n<opnsense>\n<system><hostname>fw9</hostname></system>\n${rows}</opnsense>\n`);
    expect(big.length).toBeGreaterThan(300 * 1024);
    expect(m.check(big)).toBeNull();
    expect(m.facts(big)).toEqual({ hostname: 'fw9' });
    const cut = Buffer.from(big.toString().replace('<descr>règle 4000 – 😀</descr>', '<descr>règle 4000 – 😀</desc>'));
    expect(m.check(cut)).toBe(`is not a whole XML document (line ${4000 + 4}: unexpected close tag)`);
    const twoRoots = Buffer.from(big.toString().replace('</system>', '</system></opnsense><opnsense>'));
    expect(m.check(twoRoots)).toMatch(/^is not a whole XML document \(line 3: /);
  });

  it('normalise sets aside re-encrypted secrets and the revision time, and nothing else', () => {
    const a = opnsense({ salt: 'aaaaaaaa', time: '1718000000.1234' });
    const b = opnsense({ salt: 'bbbbbbbb', time: '1718000999.9999' });
    expect(a.equals(b)).toBe(false);
    expect(m.normalise(a).equals(m.normalise(b))).toBe(true);
    // A real change still shows.
    expect(m.normalise(opnsense({ rule: 'wan' })).equals(m.normalise(a))).toBe(false);
    // The hashed password (the same on every export) stays as it is.
    expect(m.normalise(a).toString()).toContain('$2y$10$abcdefghijklmnopqrstuv');
    expect(m.normalise(a).toString()).toContain('<pre-shared-key>[salted secret]</pre-shared-key>');
    expect(m.normalise(a).toString()).toContain('<time>[set aside]</time>');
  });

  it('a device command of its own', () => {
    expect(opnsenseModel('cat /cf/conf/config.xml').command).toBe('cat /cf/conf/config.xml');
  });
});

describe('Cisco IOS', () => {
  const m = ciscoIosModel();

  it('accepts a whole running configuration (CR LF or LF); firmware from the version line; host name', () => {
    expect(m.check(cisco())).toBeNull();
    expect(m.check(cisco({ eol: '\n' }))).toBeNull();
    expect(m.firmwareVersion(cisco(), null)).toBe('15.2');
    expect(m.facts(cisco())).toEqual({ hostname: 'edge-1' });
    expect(m.exitStatusRequired).toBe(false);
    expect(m.firmwareCommand).toBeUndefined();
  });

  it('refuses error text, a missing header, and anything cut before "end"', () => {
    expect(m.check(Buffer.from("show running-confg\r\n        ^\r\n% Invalid input detected at '^' marker.\r\n"))).toBe(
      'is an error message, not a configuration: "% Invalid input detected at \'^\' marker."',
    );
    expect(m.check(Buffer.from('% Authorization failed.\r\n'))).toMatch(/^is an error message/);
    expect(m.check(cisco({ cut: 6 }))).toMatch(/^is truncated: its last line is "ntp clock-period 17179860", not "end"/);
    expect(m.check(Buffer.from('hostname edge-1\r\nend\r\n'))).toMatch(/no "Current configuration : N bytes" line/);
    expect(m.check(Buffer.alloc(0))).toMatch(/^is empty/);
  });

  it('normalise sets aside the change stamps, the clock period, the byte count and line ends', () => {
    const a = cisco();
    const b = cisco({ change: '08:00:00 UTC Wed Jun 5 2024', clock: '17180001', bytes: '1236', eol: '\n' });
    expect(m.normalise(a).equals(m.normalise(b))).toBe(true);
    expect(m.normalise(cisco({ ip: '10.0.0.2' })).equals(m.normalise(a))).toBe(false);
  });
});

describe('generic', () => {
  const m = genericModel('cat /etc/config.boot', 'uname -r');

  it('any non-empty output that is not an error message; nothing set aside; firmware from its command', () => {
    expect(m.check(Buffer.from('interfaces {\n}\n'))).toBeNull();
    expect(m.check(Buffer.from([0x00, 0x01, 0xff]))).toBeNull();
    expect(m.check(Buffer.alloc(0))).toMatch(/^is empty/);
    expect(m.check(Buffer.from('bash: line 1: cat: command not found\n'))).toMatch(/^is an error message/);
    expect(m.check(Buffer.from('sh: show: not found\n'))).toMatch(/^is an error message/);
    const c = Buffer.from('time 12:00\n');
    expect(m.normalise(c)).toBe(c);
    expect(m.firmwareVersion(c, Buffer.from('6.1.0-18-amd64\n'))).toBe('6.1.0-18-amd64');
  });

  it('a body that mentions an error further down is still a configuration', () => {
    expect(m.check(Buffer.from('# config\nhost a\nhost b\nbanner "Permission denied"\n'))).toBeNull();
  });
});

describe('the library', () => {
  it('lists each model with its default command, and builds them from specs', () => {
    expect(DEVICE_MODELS.map((d) => [d.id, d.defaultCommand])).toEqual([
      ['opnsense', 'cat /conf/config.xml'],
      ['cisco-ios', 'show running-config'],
      ['generic', null],
    ]);
    expect(deviceModel({ model: 'generic', command: 'cat x', firmwareCommand: undefined }).command).toBe('cat x');
    expect(deviceModel({ model: 'cisco-ios', command: undefined }).command).toBe('show running-config');
  });

  it('configurationDigest: equal for exports that differ only in what the model sets aside', () => {
    expect(configurationDigest({ model: 'opnsense' }, opnsense({ salt: 'a' }))).toBe(configurationDigest({ model: 'opnsense' }, opnsense({ salt: 'b' })));
    expect(configurationDigest({ model: 'generic', command: 'x' }, Buffer.from('a'))).not.toBe(configurationDigest({ model: 'generic', command: 'x' }, Buffer.from('b')));
  });
});
