import { seal, unseal } from '../crypto/seal';
import type { DeviceConnectionInput, DeviceModelInput } from '../devices';
import type { ManagedDevice } from '../db/schema';

/**
 * A device's login secret (password or private key) and a key's passphrase
 * are sealed at rest, each under its own purpose, and opened only to connect.
 */
const SECRET_PURPOSE = 'fleet-device-secret';
const PASSPHRASE_PURPOSE = 'fleet-device-passphrase';

export type SealedCredentials = { authKind: 'password' | 'key'; secretSealed: string; passphraseSealed: string | null };

export function sealCredentials(c: { password?: string; privateKey?: string; passphrase?: string }): SealedCredentials {
  if (c.privateKey !== undefined && c.privateKey.trim() !== '') {
    return { authKind: 'key', secretSealed: seal(c.privateKey, SECRET_PURPOSE), passphraseSealed: c.passphrase ? seal(c.passphrase, PASSPHRASE_PURPOSE) : null };
  }
  return { authKind: 'password', secretSealed: seal(c.password ?? '', SECRET_PURPOSE), passphraseSealed: null };
}

/** What lib/devices takes to reach this device; `probe` leaves the host key out (probe mode). Holds secrets. */
export function connectionOf(d: ManagedDevice, opts: { probe?: boolean; limits?: Partial<DeviceConnectionInput> } = {}): DeviceConnectionInput {
  const secret = unseal(d.secretSealed, SECRET_PURPOSE);
  const creds =
    d.authKind === 'key'
      ? { privateKey: secret, ...(d.passphraseSealed ? { passphrase: unseal(d.passphraseSealed, PASSPHRASE_PURPOSE) } : {}) }
      : { password: secret };
  return {
    host: d.host,
    port: d.port,
    username: d.username,
    ...creds,
    hostKeyFingerprint: opts.probe ? null : d.hostKeyFingerprint,
    hostKeyType: opts.probe ? undefined : (d.hostKeyType ?? undefined),
    ...opts.limits,
  };
}

export function modelOf(d: ManagedDevice): DeviceModelInput {
  if (d.model === 'generic') return { model: 'generic', command: d.exportCommand ?? '' };
  return { model: d.model as 'opnsense' | 'cisco-ios', command: d.exportCommand ?? undefined };
}
