import type { DeviceModelId, DeviceModelSpec } from '../schemas';
import { CISCO_COMMAND, ciscoIosModel } from './cisco-ios';
import { genericModel } from './generic';
import type { DeviceModel } from './model';
import { OPNSENSE_COMMAND, opnsenseModel } from './opnsense';

export type { DeviceFacts, DeviceModel } from './model';

/** The model library, for forms: each model's name and default export command (generic has none: the admin gives it). */
export const DEVICE_MODELS: readonly { id: DeviceModelId; name: string; defaultCommand: string | null }[] = [
  { id: 'opnsense', name: 'OPNsense', defaultCommand: OPNSENSE_COMMAND },
  { id: 'cisco-ios', name: 'Cisco IOS', defaultCommand: CISCO_COMMAND },
  { id: 'generic', name: 'Generic', defaultCommand: null },
];

/** The model a (parsed) spec names, with the device's own command where it has one. */
export function deviceModel(spec: DeviceModelSpec): DeviceModel {
  switch (spec.model) {
    case 'opnsense':
      return opnsenseModel(spec.command);
    case 'cisco-ios':
      return ciscoIosModel(spec.command);
    case 'generic':
      return genericModel(spec.command, spec.firmwareCommand);
  }
}
