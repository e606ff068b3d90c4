/**
 * The appliance's command line, next to `npm start`, for when the console
 * cannot start (or is stopped on purpose):
 *
 *   webconf restore FILE|sftp://user@host[:port]/path|scp://… [--dry-run] [--dms-file F] [--confirm NAME]
 *                   [--password-file F | --identity KEY [--passphrase-file F]] [--fingerprint SHA256:…]
 *   webconf backup config show | status | encryption-key set | enable | disable | run   (lib/cli)
 *
 * `restore` shares the Backup page's implementation (lib/restore) and works
 * on the data folder directly; `backup` talks to a running console's JSON
 * API with an API token (WEBCONF_URL, WEBCONF_TOKEN or --token-file).
 * Secrets never go on the command line (other users can read it in ps): the
 * DMS comes from a file (--dms-file, "-" for standard input) or a hidden
 * prompt, the token from the environment or a file. Exit codes: 0 done,
 * 1 refused or failed (nothing changed unless it says so), 2 usage; for
 * `backup` also 3 not authorised (token revoked, unknown, or its role) and
 * 4 console unreachable.
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { AppError } from '../lib/errors';
import { runningConsole } from '../lib/restore/console-lock';
import { discardIncoming, fetchIncoming, forgetEmptyRestoreFolders, incomingSource } from '../lib/restore/incoming';
import { formatRemoteUrl } from '../lib/sources';
import { fingerprintSchema, remoteUrlSourceSchema } from '../lib/sources/schemas';
import { planText } from '../lib/restore/plan-text';
import { recoverInterruptedRestore } from '../lib/restore/recovery';
import { planRestore, runRestore, type RestoreSource } from '../lib/restore/restore';
import { applianceIdentity } from '../lib/backup/appliance';
import { BACKUP_USAGE, parseBackupArgs, runBackupCommand } from '../lib/cli/backup-command';
import { CliError } from '../lib/cli/exit-codes';

const USAGE = `Usage:
  webconf backup …  managed devices' backups through the console's API (webconf backup --help)

  webconf restore FILE|sftp://USER@HOST[:PORT]/PATH|scp://… [--dry-run] [--dms-file FILE|-] [--confirm APPLIANCE-NAME]
                  [--password-file FILE|- | --identity KEYFILE [--passphrase-file FILE]] [--fingerprint SHA256:…]

  FILE            a backup file (.tar.age) on this machine
  sftp://, scp:// a backup file on another host, fetched over SSH first; its host key must be
                  pinned (Backup page) or given with --fingerprint (as ssh-keygen -lf prints it)
  --password-file the SSH password from a file ("-": standard input)
  --identity      an SSH private key file (PEM or OpenSSH), --passphrase-file for its passphrase
  --dry-run       verify the backup and show what a restore would do; change nothing
  --dms-file F    read the Domain Master Secret from file F ("-": standard input);
                  without it, this appliance's own DMS is used, or you are asked
  --confirm NAME  the appliance name, to confirm without a prompt

Exit codes: 0 done, 1 refused or failed, 2 usage (and for backup: 3 not authorised, 4 console unreachable).
`;

export const restoreArgsSchema = z.object({
  source: z.string({ error: 'Name the backup file to restore.' }).min(1, 'Name the backup file to restore.'),
  dryRun: z.boolean().default(false),
  dmsFile: z.string().min(1).optional(),
  confirm: z.string().min(1).optional(),
  passwordFile: z.string().min(1).optional(),
  identity: z.string().min(1).optional(),
  passphraseFile: z.string().min(1).optional(),
  fingerprint: fingerprintSchema.optional(),
});

function fail(message: string, code = 1): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

async function ask(question: string, hidden: boolean): Promise<string> {
  if (!process.stdin.isTTY) fail(`${question.trim()} — no terminal to ask on; use the options (see --help).`, 2);
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  if (hidden) {
    const out = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WriteStream };
    out._writeToOutput = (s: string) => {
      if (s.includes(question)) process.stderr.write(s);
    };
  }
  const answer = await new Promise<string>((resolve) => rl.question(question, resolve));
  rl.close();
  if (hidden) process.stderr.write('\n');
  return answer;
}

function readSecretFile(file: string): string {
  const text = file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8');
  return text.replace(/\r?\n$/, '');
}

async function restoreCommand(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'dry-run': { type: 'boolean' },
        'dms-file': { type: 'string' },
        confirm: { type: 'string' },
        'password-file': { type: 'string' },
        identity: { type: 'string' },
        'passphrase-file': { type: 'string' },
        fingerprint: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    fail(`${(err as Error).message}\n\n${USAGE}`, 2);
  }
  if (parsed.values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const v = parsed.values;
  const args = restoreArgsSchema.safeParse({
    source: parsed.positionals[0],
    dryRun: v['dry-run'],
    dmsFile: v['dms-file'],
    confirm: v.confirm,
    passwordFile: v['password-file'],
    identity: v.identity,
    passphraseFile: v['passphrase-file'],
    fingerprint: v.fingerprint,
  });
  if (!args.success) fail(`${args.error.issues.map((i) => i.message).join('\n')}\n\n${USAGE}`, 2);
  const a = args.data;
  const remote = /^(sftp|scp):\/\//i.test(a.source);
  if (!remote) {
    const file = path.resolve(a.source);
    if (!fs.existsSync(file)) fail(`${a.source} does not exist.`);
    if (!fs.statSync(file).isFile()) fail(`${a.source} is not a file.`);
  }

  const consolePid = runningConsole();
  if (consolePid && !a.dryRun) fail(`The console is running (process ${consolePid}) and has the database open. Restore from its Backup page, or stop it first and run this again.`);
  const recovered = recoverInterruptedRestore();
  if (recovered) process.stderr.write(`${recovered.message}\n`);

  const actor = { id: null, name: `command line (${process.env.SUDO_USER ?? process.env.USER ?? 'root'})`, ip: null };
  let dms = a.dmsFile ? readSecretFile(a.dmsFile) : undefined;
  let source: RestoreSource;
  try {
    if (remote) {
      const remoteSource = remoteUrlSourceSchema.safeParse({
        url: a.source,
        password: a.passwordFile ? readSecretFile(a.passwordFile) : undefined,
        privateKey: a.identity ? fs.readFileSync(a.identity, 'utf8') : undefined,
        passphrase: a.passphraseFile ? readSecretFile(a.passphraseFile) : undefined,
      });
      if (!remoteSource.success) fail(remoteSource.error.issues.map((i) => i.message).join('\n'), 2);
      process.stderr.write(`Fetching ${formatRemoteUrl(remoteSource.data)} …\n`);
      const got = await fetchIncoming(actor, remoteSource.data, { expectedFingerprint: a.fingerprint });
      source = incomingSource(got.id, { removeAfter: true });
    } else {
      const file = path.resolve(a.source);
      source = { kind: 'file', path: file, origin: 'file', label: `file ${file}` };
    }
  } catch (err) {
    if (err instanceof AppError) fail(`${err.message} Nothing was changed.`);
    throw err;
  }
  try {
    let plan;
    try {
      plan = await planRestore({ source, dms, actor });
    } catch (err) {
      // This appliance's own DMS does not open the file (or it has none): ask for the backup's, once.
      if (!(err instanceof AppError && err.field === 'dms' && !dms && process.stdin.isTTY)) throw err;
      process.stderr.write(`${err.message}\n`);
      dms = await ask('Domain Master Secret of the backup: ', true);
      plan = await planRestore({ source, dms, actor });
    }
    process.stdout.write(`${planText(plan)}\n`);
    if (a.dryRun) {
      if (source.kind === 'file' && source.removeAfter) discardIncoming(path.basename(source.path));
      forgetEmptyRestoreFolders();
      process.stdout.write(`\nDry run: nothing was changed.${plan.blockers.length ? ' The restore would be refused.' : ''}\n`);
      process.exit(plan.blockers.length ? 1 : 0);
    }
    if (plan.blockers.length && source.kind === 'file' && source.removeAfter) discardIncoming(path.basename(source.path));
    if (plan.blockers.length) fail(`\nThe restore is refused: ${plan.blockers.join(' ')} Nothing was changed.`);
    const name = applianceIdentity().name;
    const confirm = a.confirm ?? (await ask(`\nType the appliance name (${name}) to restore: `, false));
    const result = await runRestore({ source, dms, actor, confirm });
    process.stdout.write(`\n${result.outcome}\nThe state from before the restore is kept in ${result.safetyCopy}.\n`);
  } catch (err) {
    // A fetched file the restore did not take goes now (the restore removes the one it took).
    if (source.kind === 'file' && source.removeAfter) fs.rmSync(source.path, { force: true }), fs.rmSync(`${source.path}.json`, { force: true });
    forgetEmptyRestoreFolders();
    if (err instanceof AppError) fail(err.message);
    fail(`The restore failed: ${(err as Error).message}`);
  }
}

async function backupCommand(argv: string[]): Promise<void> {
  try {
    const parsed = parseBackupArgs(argv, process.env);
    if (parsed.help) {
      process.stdout.write(BACKUP_USAGE);
      return;
    }
    const code = await runBackupCommand(parsed, process.env, {
      stdout: (t) => process.stdout.write(t),
      stderr: (t) => process.stderr.write(t),
      progress: Boolean(process.stderr.isTTY),
      now: () => new Date(),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      readStdin: () => fs.readFileSync(0, 'utf8'),
    });
    // Let standard output drain before the exit (a pipe to a script may be slower than us).
    await new Promise<void>((r) => process.stdout.write('', () => r()));
    process.exit(code);
  } catch (err) {
    if (err instanceof CliError) fail(err.message, err.exitCode);
    throw err;
  }
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'restore') return restoreCommand(rest);
  if (command === 'backup') return backupCommand(rest);
  process.stdout.write(USAGE);
  process.exit(command && command !== '--help' && command !== '-h' ? 2 : 0);
}

void main().then(
  () => process.exit(0),
  (err) => fail(`webconf: ${(err as Error).message}`),
);
