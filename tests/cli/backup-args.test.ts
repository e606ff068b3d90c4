import { describe, expect, it } from 'vitest';
import { parseBackupArgs } from '@/lib/cli/backup-command';
import { CliError } from '@/lib/cli/exit-codes';

const ENV = { WEBCONF_URL: 'https://webconf.example:8443', WEBCONF_TOKEN: `wct_${'a'.repeat(43)}` };
const RECIPIENT = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';

function refusal(argv: string[], env: Record<string, string | undefined> = ENV): string {
  try {
    parseBackupArgs(argv, env);
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(2);
    return (err as CliError).message.split('\n\n')[0]!;
  }
  throw new Error(`accepted: ${argv.join(' ')}`);
}
const command = (argv: string[], env: Record<string, string | undefined> = ENV) => {
  const p = parseBackupArgs(argv, env);
  if (p.help) throw new Error('help');
  return p;
};

describe('webconf backup: arguments', () => {
  it('each command, with the connection from the environment or the options', () => {
    expect(command(['config', 'show'])).toEqual({ help: false, command: { command: 'config show' }, json: false, url: ENV.WEBCONF_URL, token: { kind: 'env' } });
    expect(command(['status', '--json', '--url', 'http://127.0.0.1:3000', '--token-file', '/run/t'], {})).toEqual({
      help: false, command: { command: 'status' }, json: true, url: 'http://127.0.0.1:3000', token: { kind: 'file', file: '/run/t' },
    });
    expect(command(['enable', '--device', 'fw-a']).command).toEqual({ command: 'enable', device: 'fw-a' });
    expect(command(['disable', '--device=fw.b_2']).command).toEqual({ command: 'disable', device: 'fw.b_2' });
    expect(command(['run']).command).toEqual({ command: 'run', devices: [], wait: false });
    expect(command(['run', '--device', 'a', '--device', 'b', '--wait']).command).toEqual({ command: 'run', devices: ['a', 'b'], wait: true });
    expect(command(['encryption-key', 'set', '--recipient', RECIPIENT]).command).toMatchObject({ command: 'encryption-key set', recipient: RECIPIENT, generate: false, clear: false });
    expect(command(['encryption-key', 'set', '--device', 'fw-a', '--generate', '--identity-out', 'k.txt']).command).toMatchObject({ device: 'fw-a', generate: true, identityOut: 'k.txt' });
    expect(command(['encryption-key', 'set', '--generate', '--json']).command).toMatchObject({ generate: true, json: true });
    expect(command(['encryption-key', 'set', '--device', 'fw-a', '--clear']).command).toMatchObject({ device: 'fw-a', clear: true });
    expect(parseBackupArgs(['--help'], {})).toEqual({ help: true });
    expect(parseBackupArgs(['status', '-h'], {})).toEqual({ help: true });
  });

  it('never a token on the command line', () => {
    for (const argv of [['status', '--token', 'wct_x'], ['status', '--token=wct_x']]) {
      expect(refusal(argv)).toBe('A token on the command line can be read by every user of this machine (ps). Put it in WEBCONF_TOKEN or a file for --token-file.');
    }
  });

  it('refuses what is wrong, in words (exit 2, nothing sent)', () => {
    expect(refusal(['frobnicate'])).toMatch(/^"webconf backup frobnicate" is not a command/);
    expect(refusal(['config'])).toMatch(/^"webconf backup config" is not a command/);
    expect(refusal(['status', '--device', 'x'])).toMatch(/Unknown option '--device'/);
    expect(refusal(['status', 'extra'])).toMatch(/Unexpected argument 'extra'/);
    expect(refusal(['enable'])).toBe('Name the device with --device NAME.');
    expect(refusal(['enable', '--device', 'has space'])).toBe('A device name has letters, digits, dot, dash or underscore only.');
    expect(refusal(['run', '--device', 'a', '--device', 'a'])).toBe('A device is named twice.');
    expect(refusal(['encryption-key', 'set'])).toBe('Give exactly one of --recipient age1…, --generate, or --clear (with --device).');
    expect(refusal(['encryption-key', 'set', '--recipient', 'age1nope'])).toMatch(/^The recipient is not an age X25519 public key/);
    expect(refusal(['encryption-key', 'set', '--recipient', RECIPIENT, '--generate'])).toMatch(/^Give exactly one of/);
    expect(refusal(['encryption-key', 'set', '--generate'])).toMatch(/^A generated identity is written to a file, never printed/);
    expect(refusal(['encryption-key', 'set', '--clear'])).toMatch(/give --device NAME/);
    expect(refusal(['encryption-key', 'set', '--recipient', RECIPIENT, '--identity-out', 'f'])).toBe('--identity-out goes with --generate.');
    expect(refusal(['status'], { WEBCONF_URL: ENV.WEBCONF_URL })).toMatch(/^Give the API token: WEBCONF_TOKEN, or --token-file FILE/);
    expect(refusal(['status'], { WEBCONF_TOKEN: ENV.WEBCONF_TOKEN })).toMatch(/^Say where the console is: WEBCONF_URL or --url/);
    expect(refusal(['status', '--url', 'ftp://x'])).toMatch(/^The console URL must be http:\/\/ or https:\/\//);
    expect(refusal(['status', '--url', 'https://u:p@x'])).toMatch(/without a user name or password/);
  });
});
