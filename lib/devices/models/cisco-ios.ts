import { remoteText } from '../../ssh/errors';
import type { DeviceModel } from './model';
import { commonProblem, firstLines } from './output-text';

/**
 * Cisco IOS-style CLIs: `show running-config` prints
 *
 *   Building configuration...
 *
 *   Current configuration : 4242 bytes
 *   !
 *   ! Last configuration change at 10:12:01 UTC Tue Jun 4 2024 by admin
 *   !
 *   version 15.2
 *   hostname edge-1
 *   …
 *   ntp clock-period 17179860
 *   end
 *
 * A whole configuration has the "Current configuration : N bytes" line near
 * the top and "end" as its last line; anything that stops before "end" is
 * cut. Errors come on stdout with exit status 0 ("% Invalid input detected at
 * '^' marker.", "% Authorization failed."). Many such CLIs close the channel
 * without an exit status, so none is required: the framing decides. The
 * firmware's major.minor is the "version" line (IOS allows one command per
 * SSH connection on some releases, so no second command is run).
 *
 * Set aside by normalise(): the "! Last configuration change at …" and
 * "! NVRAM config last updated at …" comments, "ntp clock-period N" (the
 * device rewrites its clock drift correction on its own), the byte count of
 * the "Current configuration" line (it counts those lines too), and line
 * ends (CR LF or LF).
 */

export const CISCO_COMMAND = 'show running-config';

const CURRENT = /^Current configuration\s*:\s*\d+\s*bytes$/;
const VOLATILE_LINE = /^(?:! Last configuration change at .*|! NVRAM config last updated at .*|ntp clock-period \d+)\s*$/;

export function ciscoIosModel(command = CISCO_COMMAND): DeviceModel {
  return {
    id: 'cisco-ios',
    name: 'Cisco IOS',
    command,
    exitStatusRequired: false,
    check(output) {
      const common = commonProblem(output) ?? ciscoError(output);
      if (common) return common;
      if (!firstLines(output, 4).some((l) => CURRENT.test(l))) return 'is not a Cisco running configuration: it has no "Current configuration : N bytes" line at the top';
      const tail = output.subarray(Math.max(0, output.length - 256)).toString('latin1').trimEnd();
      const last = tail.slice(tail.search(/[^\r\n]*$/)).trim();
      if (last !== 'end') return `is truncated: its last line is "${remoteText(last, 80)}", not "end"`;
      return null;
    },
    normalise(config) {
      const lines = config
        .toString('latin1')
        .split(/\r\n|\n|\r/)
        .filter((l) => !VOLATILE_LINE.test(l))
        .map((l) => (CURRENT.test(l.trim()) ? 'Current configuration : [set aside] bytes' : l));
      return Buffer.from(lines.join('\n'), 'latin1');
    },
    firmwareVersion(config) {
      const v = /^version (\S+)\s*$/m.exec(config.subarray(0, 64 * 1024).toString('latin1'))?.[1];
      return v ? remoteText(v, 100) : undefined;
    },
    facts(config) {
      const h = /^hostname (\S+)\s*$/m.exec(config.subarray(0, 256 * 1024).toString('latin1'))?.[1];
      return h ? { hostname: remoteText(h, 255) } : {};
    },
  };
}

/** A "% …" line among the first lines: the CLI's answer to a command it did not run (after the echoed command and its "^" marker). */
function ciscoError(output: Buffer): string | null {
  const line = firstLines(output, 5).find((l) => l.startsWith('%'));
  return line ? `is an error message, not a configuration: "${remoteText(line, 200)}"` : null;
}
