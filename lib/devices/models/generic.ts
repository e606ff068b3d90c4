import type { DeviceModel } from './model';
import { commonProblem, firstLine } from './output-text';

/**
 * Any device whose configuration one command prints (an admin gives it:
 * `cat /etc/config.boot`, `/export verbose`, …). A whole configuration is
 * a non-empty output that does not start with an error message, from a
 * command that ended with exit status 0. Nothing is known to change by
 * itself, so nothing is set aside. The firmware version, when the admin
 * gives a command for it, is that command's first line.
 */
export function genericModel(command: string, firmwareCommand?: string): DeviceModel {
  return {
    id: 'generic',
    name: 'Generic',
    command,
    firmwareCommand,
    exitStatusRequired: true,
    check: commonProblem,
    normalise: (config) => config,
    firmwareVersion: (_config, firmwareOutput) => firstLine(firmwareOutput),
    facts: () => ({}),
  };
}
