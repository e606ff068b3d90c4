import fs from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { parseX25519Identity, writeIdentityFile } from '../age';
import { ConsoleApi } from './console-api';
import { CliError, EXIT } from './exit-codes';
import { renderConfig, renderRun, renderStatus, runProgress } from './fleet-views';
import {
  backupCommandSchema,
  connectionSchema,
  encryptionKeyAnswerSchema,
  fleetConfigSchema,
  fleetRunSchema,
  fleetStatusSchema,
  runStartedSchema,
  type BackupCommand,
} from './schemas';

/**
 * `webconf backup …`: the managed devices' backups from a shell, through the
 * console's JSON API with an API token. Parsing (argv → a checked command)
 * is apart from running it, so each can be tested on its own.
 */
export const BACKUP_USAGE = `Usage:
  webconf backup config show                       the organisation backup configuration
  webconf backup status                            every device's last backup
  webconf backup encryption-key set [--device NAME] --recipient age1… | --generate --identity-out FILE
  webconf backup encryption-key set --device NAME --clear      (the device goes back to the organisation key)
  webconf backup enable --device NAME
  webconf backup disable --device NAME
  webconf backup run [--device NAME]... [--wait]   all enabled, approved devices unless named

  Every command takes:
  --url URL           the console (default: $WEBCONF_URL), e.g. https://webconf.example:8443
  --token-file FILE   a file holding the API token ("-": standard input; default: $WEBCONF_TOKEN).
                      Never on the command line: other users can read it in ps.
  --json              print the console's JSON answer, for scripts
  --identity-out FILE with --generate: write the new identity (the secret half) to FILE, mode 0600,
                      never replacing a file. With --json and no --identity-out it is in the JSON.
  --wait              with run: follow the run to its end; exit 1 unless every device succeeded

  An HTTPS console with its own certificate: NODE_EXTRA_CA_CERTS=/path/to/its/cert.pem.

Exit codes:
  0  done
  1  refused by the console or failed (a run with a failed device, a name it does not know, …)
  2  usage: the command line is wrong, nothing was sent
  3  not authorised: the token is revoked or unknown (401), or its role may not do this (403)
  4  the console cannot be reached
`;

const COMMON = {
  url: { type: 'string' },
  'token-file': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const OPTIONS = {
  'config show': {},
  status: {},
  'encryption-key set': { device: { type: 'string' }, recipient: { type: 'string' }, generate: { type: 'boolean' }, clear: { type: 'boolean' }, 'identity-out': { type: 'string' } },
  enable: { device: { type: 'string' } },
  disable: { device: { type: 'string' } },
  run: { device: { type: 'string', multiple: true }, wait: { type: 'boolean' } },
} as const satisfies Record<string, ParseArgsConfig['options']>;

type CommandName = keyof typeof OPTIONS;

export type ParsedBackup =
  | { help: true }
  | { help: false; command: BackupCommand; json: boolean; url: string; token: { kind: 'env' } | { kind: 'file'; file: string } };

const usage = (message: string) => new CliError(`${message}\n\nSee: webconf backup --help`, EXIT.usage);
const messages = (e: z.ZodError) => [...new Set(e.issues.map((i) => i.message))].join('\n');

/** Checks a `webconf backup` command line; a CliError (exit 2) says what is wrong. */
export function parseBackupArgs(argv: readonly string[], env: Record<string, string | undefined>): ParsedBackup {
  if (argv.some((a) => a === '--token' || a.startsWith('--token='))) {
    throw usage('A token on the command line can be read by every user of this machine (ps). Put it in WEBCONF_TOKEN or a file for --token-file.');
  }
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') return { help: true };
  const words = argv[0] === 'config' || argv[0] === 'encryption-key' ? 2 : 1;
  const name = argv.slice(0, words).join(' ');
  if (!(name in OPTIONS)) {
    throw usage(`"webconf backup ${name}" is not a command. The commands: config show, status, encryption-key set, enable, disable, run.`);
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv.slice(words) as string[], options: { ...COMMON, ...OPTIONS[name as CommandName] }, allowPositionals: false, strict: true });
  } catch (err) {
    throw usage((err as Error).message.replace(/\. To specify a positional argument.*$/s, '.'));
  }
  const v = parsed.values as Record<string, string | string[] | boolean | undefined>;
  if (v.help) return { help: true };
  const json = v.json === true;
  const command = backupCommandSchema.safeParse(
    name === 'run'
      ? { command: 'run', devices: v.device ?? [], wait: v.wait }
      : name === 'encryption-key set'
        ? { command: name, device: v.device, recipient: v.recipient, generate: v.generate, clear: v.clear, identityOut: v['identity-out'], json }
        : { command: name, device: v.device },
  );
  if (!command.success) throw usage(messages(command.error));
  const tokenFile = v['token-file'] as string | undefined;
  if (tokenFile === undefined && !env.WEBCONF_TOKEN) throw usage('Give the API token: WEBCONF_TOKEN, or --token-file FILE. An admin issues tokens on the console (Settings → API tokens).');
  const conn = connectionSchema.safeParse({ url: (v.url as string | undefined) ?? env.WEBCONF_URL ?? '', token: '' });
  if (!conn.success) throw usage(messages(conn.error));
  return { help: false, command: command.data, json, url: conn.data.url, token: tokenFile !== undefined ? { kind: 'file', file: tokenFile } : { kind: 'env' } };
}

export type CliIo = {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Standard error is a terminal: progress lines are shown. */
  progress: boolean;
  now(): Date;
  sleep(ms: number): Promise<void>;
  readStdin(): string;
};

function readToken(p: Extract<ParsedBackup, { help: false }>, env: Record<string, string | undefined>, io: CliIo): string {
  let text: string;
  if (p.token.kind === 'env') text = env.WEBCONF_TOKEN ?? '';
  else {
    try {
      text = p.token.file === '-' ? io.readStdin() : fs.readFileSync(p.token.file, 'utf8');
    } catch (err) {
      throw new CliError(`The token file ${p.token.file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, EXIT.usage);
    }
  }
  const token = text.trim();
  if (!/^wct_[A-Za-z0-9_-]{43}$/.test(token)) {
    throw new CliError(`The ${p.token.kind === 'env' ? 'WEBCONF_TOKEN variable' : `file ${p.token.file}`} does not hold an API token ("wct_" and 43 more characters).`, EXIT.usage);
  }
  return token;
}

const devicePath = (name: string) => `/api/devices/${encodeURIComponent(name)}`;
const print = (io: CliIo, value: unknown) => io.stdout(`${JSON.stringify(value, null, 2)}\n`);
const anything = z.unknown();
const POLL_MS = 1000;

/** Runs a checked command against the console; returns the exit code. CliErrors carry their own. */
export async function runBackupCommand(p: Extract<ParsedBackup, { help: false }>, env: Record<string, string | undefined>, io: CliIo, fetchImpl?: typeof fetch): Promise<number> {
  const api = new ConsoleApi(p.url, readToken(p, env, io), fetchImpl);
  const c = p.command;
  switch (c.command) {
    case 'config show': {
      const a = await api.call('GET', '/api/fleet/config', fleetConfigSchema);
      if (p.json) print(io, a.raw);
      else io.stdout(`${renderConfig(a.body)}\n`);
      return EXIT.ok;
    }
    case 'status': {
      const a = await api.call('GET', '/api/fleet/status', fleetStatusSchema);
      if (p.json) print(io, a.raw);
      else io.stdout(`${renderStatus(a.body, io.now())}\n`);
      return EXIT.ok;
    }
    case 'encryption-key set': {
      const out = c.identityOut ? path.resolve(c.identityOut) : null;
      // Checked before anything is sent: a generated identity that cannot be written would leave backups nobody can decrypt.
      if (out) {
        if (fs.existsSync(out)) throw new CliError(`${c.identityOut} exists already; webconf never replaces a file. Name a new one. Nothing was changed.`, EXIT.failed);
        try {
          fs.accessSync(path.dirname(out), fs.constants.W_OK);
        } catch {
          throw new CliError(`The folder of ${c.identityOut} does not exist or cannot be written. Nothing was changed.`, EXIT.failed);
        }
      }
      const body = c.generate ? { generate: true } : c.clear ? { recipient: null } : { recipient: c.recipient };
      const a = await api.call('PUT', c.device ? `${devicePath(c.device)}/encryption-key` : '/api/fleet/encryption-key', encryptionKeyAnswerSchema, body);
      const subject = c.device ? `Device ${c.device}` : 'The organisation';
      if (c.generate && out) {
        const secret = a.body.identity;
        if (!secret) throw new CliError('The console generated a key but sent no identity back. Generate a new one.', EXIT.failed);
        try {
          const identity = parseX25519Identity(secret);
          if (a.body.recipient && identity.recipient.toString() !== a.body.recipient) throw new Error('the identity does not match the recipient the console set');
          await writeIdentityFile(out, identity);
        } catch (err) {
          throw new CliError(
            `${subject} now encrypts to ${a.body.recipient}, but its identity could not be written to ${c.identityOut} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Backups to this key could not be decrypted: set a new key now.`,
            EXIT.failed,
          );
        }
      }
      if (p.json) {
        const raw = a.raw as Record<string, unknown>;
        // With --identity-out the secret went to the file only.
        print(io, out ? Object.fromEntries(Object.entries(raw).filter(([k]) => k !== 'identity')) : raw);
        return EXIT.ok;
      }
      if (c.clear) io.stdout(`${subject} now uses the organisation key.\n`);
      else io.stdout(`${subject} encrypts its backups to ${a.body.recipient ?? c.recipient}.\n`);
      if (out) io.stdout(`The identity (the secret half) is in ${c.identityOut}, readable by you only. Keep it safe and apart from the backups: it alone decrypts them, and the console does not keep it.\n`);
      return EXIT.ok;
    }
    case 'enable':
    case 'disable': {
      const a = await api.call('PUT', `${devicePath(c.device)}/backup`, anything, { enabled: c.command === 'enable' });
      if (p.json) print(io, a.raw);
      else io.stdout(`Backup ${c.command}d for ${c.device}.\n`);
      return EXIT.ok;
    }
    case 'run': {
      const started = await api.call('POST', '/api/fleet/runs', runStartedSchema, c.devices.length ? { devices: c.devices } : {});
      const id = started.body.runId;
      if (!c.wait) {
        if (p.json) print(io, started.raw);
        else io.stdout(`Run ${id} started (${c.devices.length ? c.devices.join(', ') : 'every enabled, approved device'}).\n`);
        return EXIT.ok;
      }
      let last = '';
      for (;;) {
        const r = await api.call('GET', `/api/fleet/runs/${encodeURIComponent(String(id))}`, fleetRunSchema);
        if (r.body.status !== 'running') {
          if (p.json) print(io, r.raw);
          else io.stdout(`${renderRun(r.body)}\n`);
          return r.body.status === 'succeeded' ? EXIT.ok : EXIT.failed;
        }
        const line = runProgress(r.body);
        if (io.progress && line !== last) io.stderr(`${line}\n`);
        last = line;
        await io.sleep(POLL_MS);
      }
    }
  }
}
