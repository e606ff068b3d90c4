/**
 * The appliance's command line, next to `npm start`, for when the console
 * cannot start (or is stopped on purpose):
 *
 *   webconf restore FILE [--dry-run] [--dms-file F] [--confirm NAME]
 *
 * It shares the Backup page's implementation (lib/restore). Secrets never go
 * on the command line (other users can read it in ps): the DMS comes from a
 * file (--dms-file, "-" for standard input) or a hidden prompt. Exit codes:
 * 0 done, 1 refused or failed (nothing changed unless it says so), 2 usage.
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { AppError } from '../lib/errors';
import { runningConsole } from '../lib/restore/console-lock';
import { planText } from '../lib/restore/plan-text';
import { recoverInterruptedRestore } from '../lib/restore/recovery';
import { planRestore, runRestore, type RestoreSource } from '../lib/restore/restore';
import { applianceIdentity } from '../lib/backup/appliance';

const USAGE = `Usage:
  webconf restore FILE [--dry-run] [--dms-file FILE|-] [--confirm APPLIANCE-NAME]

  FILE            a backup file (.tar.age) on this machine
  --dry-run       verify the backup and show what a restore would do; change nothing
  --dms-file F    read the Domain Master Secret from file F ("-": standard input);
                  without it, this appliance's own DMS is used, or you are asked
  --confirm NAME  the appliance name, to confirm without a prompt
`;

export const restoreArgsSchema = z.object({
  source: z.string({ error: 'Name the backup file to restore.' }).min(1, 'Name the backup file to restore.'),
  dryRun: z.boolean().default(false),
  dmsFile: z.string().min(1).optional(),
  confirm: z.string().min(1).optional(),
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
      options: { 'dry-run': { type: 'boolean' }, 'dms-file': { type: 'string' }, confirm: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    fail(`${(err as Error).message}\n\n${USAGE}`, 2);
  }
  if (parsed.values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const args = restoreArgsSchema.safeParse({ source: parsed.positionals[0], dryRun: parsed.values['dry-run'], dmsFile: parsed.values['dms-file'], confirm: parsed.values.confirm });
  if (!args.success) fail(`${args.error.issues.map((i) => i.message).join('\n')}\n\n${USAGE}`, 2);
  const a = args.data;
  const file = path.resolve(a.source);
  if (!fs.existsSync(file)) fail(`${a.source} does not exist.`);
  if (!fs.statSync(file).isFile()) fail(`${a.source} is not a file.`);

  const consolePid = runningConsole();
  if (consolePid && !a.dryRun) fail(`The console is running (process ${consolePid}) and has the database open. Restore from its Backup page, or stop it first and run this again.`);
  const recovered = recoverInterruptedRestore();
  if (recovered) process.stderr.write(`${recovered.message}\n`);

  const source: RestoreSource = { kind: 'file', path: file, origin: 'file', label: `file ${file}` };
  const actor = { id: null, name: `command line (${process.env.SUDO_USER ?? process.env.USER ?? 'root'})`, ip: null };
  const dms = a.dmsFile ? readSecretFile(a.dmsFile) : undefined;
  try {
    const plan = await planRestore({ source, dms, actor });
    process.stdout.write(`${planText(plan)}\n`);
    if (a.dryRun) {
      process.stdout.write(`\nDry run: nothing was changed.${plan.blockers.length ? ' The restore would be refused.' : ''}\n`);
      process.exit(plan.blockers.length ? 1 : 0);
    }
    if (plan.blockers.length) fail(`\nThe restore is refused: ${plan.blockers.join(' ')} Nothing was changed.`);
    const name = applianceIdentity().name;
    const confirm = a.confirm ?? (await ask(`\nType the appliance name (${name}) to restore: `, false));
    const result = await runRestore({ source, dms, actor, confirm });
    process.stdout.write(`\n${result.outcome}\nThe state from before the restore is kept in ${result.safetyCopy}.\n`);
  } catch (err) {
    if (err instanceof AppError) fail(err.message);
    fail(`The restore failed: ${(err as Error).message}`);
  }
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'restore') return restoreCommand(rest);
  process.stdout.write(USAGE);
  process.exit(command && command !== '--help' && command !== '-h' ? 2 : 0);
}

void main().then(
  () => process.exit(0),
  (err) => fail(`webconf: ${(err as Error).message}`),
);
