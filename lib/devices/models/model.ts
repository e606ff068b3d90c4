import type { DeviceModelId } from '../schemas';

/**
 * What lib/devices knows of one kind of device: the command that prints its
 * configuration, how to tell a whole configuration from an empty, truncated
 * or error-text output, which values change on every export, and where its
 * firmware version is found.
 *
 * Outputs are handled as bytes: a configuration is kept exactly as the device
 * printed it. Text checks read it as latin1, which maps every byte to one
 * character and back, so normalise() changes only what it sets aside.
 */
export interface DeviceModel {
  readonly id: DeviceModelId;
  /** For people: "OPNsense", "Cisco IOS", "Generic". */
  readonly name: string;
  /** The export command: the model's, or the device's own. */
  readonly command: string;
  /** A second command whose first line is the firmware version, as the device reports it; run after the export, its failure costs only the version. */
  readonly firmwareCommand?: string;
  /**
   * Whether the command must report an exit status. OpenSSH always does (a
   * channel closed without one means the command did not end normally); some
   * network operating systems close the channel without any, and there the
   * output's own framing (check) tells a whole configuration from a cut one.
   */
  readonly exitStatusRequired: boolean;
  /** Null when `output` is a whole configuration; else what is wrong, to follow "The output of <command> on <device> …". */
  check(output: Buffer): string | null;
  /** The configuration with the values that change on every export set aside: two exports whose results are equal are unchanged. */
  normalise(config: Buffer): Buffer;
  /** The firmware version: from the firmware command's output, or from the configuration itself. */
  firmwareVersion(config: Buffer, firmwareOutput: Buffer | null): string | undefined;
  /** What the configuration says of the device. */
  facts(config: Buffer): DeviceFacts;
}

export type DeviceFacts = {
  /** The device's own name for itself, where the configuration has one (host name, with its domain where given). */
  hostname?: string;
};
