import { remoteText } from '../../ssh/errors';

/**
 * Reading device output as text. Devices print errors on stdout too, with an
 * exit status of 0 (a Cisco CLI answers "% Invalid input detected at '^'
 * marker."), or a login shell prints its complaint before any configuration;
 * such an output is a failure, not a backup. Only the first lines are read
 * for this: an error message comes first, while a configuration may well
 * mention "permission denied" somewhere in its body.
 */

const ERROR_LINES: readonly RegExp[] = [
  // Cisco IOS / NX-OS / ASA and similar CLIs: "% Invalid input detected at '^' marker.", "% Authorization failed.".
  /^%\s*(invalid|incomplete|ambiguous|unknown|unrecognized|bad|authorization|permission|access|error|command rejected)/i,
  /^(error|ERROR|Error)\s*:/,
  /\bpermission denied\b/i,
  /\baccess denied\b/i,
  /\bno such file or directory\b/i,
  /\bcommand not found\b/i,
  // "sh: opnsense-version: not found", "bash: line 1: foo: command not found".
  /^[\w./-]+:( [^:]+:)* (command )?not found$/i,
  /\boperation not permitted\b/i,
  /^(sh|bash|csh|tcsh|zsh|ksh|dash|ash):\s/,
  /^(cat|show|more|type):\s/,
  /^syntax error\b/i,
];

const HEAD_BYTES = 4096;

/** The first `n` non-empty lines of the output, without their line ends. */
export function firstLines(output: Buffer, n: number): string[] {
  const head = output.subarray(0, HEAD_BYTES).toString('latin1');
  return head
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(0, n);
}

/** The first line among the first `n` non-empty ones that reads as an error message, quoted and bounded; null when none does. */
export function errorLineIn(output: Buffer, n = 3): string | null {
  for (const line of firstLines(output, n)) {
    if (ERROR_LINES.some((re) => re.test(line))) return remoteText(line, 200);
  }
  return null;
}

/** Nothing but white space. */
export function isBlank(output: Buffer): boolean {
  for (const b of output) if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return false;
  return true;
}

/** The first non-empty line, quoted and bounded: a version "as the device reports it". */
export function firstLine(output: Buffer | null): string | undefined {
  if (!output) return undefined;
  const line = firstLines(output, 1)[0];
  return line ? remoteText(line, 200) : undefined;
}

/** The common checks before a model's own: nothing, or an error message, is not a configuration. */
export function commonProblem(output: Buffer): string | null {
  if (isBlank(output)) return output.length === 0 ? 'is empty: the device returned no configuration' : 'is empty: the device returned only blank lines';
  const error = errorLineIn(output);
  if (error) return `is an error message, not a configuration: "${error}"`;
  return null;
}
