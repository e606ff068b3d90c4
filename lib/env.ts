import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

/**
 * The console's environment, parsed once. Every variable is optional: the
 * defaults run the console with its embedded SQLite database in ./data.
 */
const portSchema = z.coerce.number({ error: 'must be a port number from 1 to 65535' }).int('must be a port number from 1 to 65535').min(1, 'must be a port number from 1 to 65535').max(65535, 'must be a port number from 1 to 65535');

export const envSchema = z.object({
  WEBCONF_DATA_DIR: z.string().min(1).default('./data'),
  WEBCONF_HTTPS_PORT: portSchema.default(8443),
  /** "off" serves no HTTPS (development and tests on loopback only). */
  WEBCONF_HTTPS: z.enum(['on', 'off']).default('on'),
  /** Plain HTTP, bound to 127.0.0.1 only. Unset: no plain HTTP at all. */
  WEBCONF_HTTP_PORT: portSchema.optional(),
  /** Names and addresses the self-signed certificate is made for, comma separated. */
  WEBCONF_HOSTNAMES: z.string().optional(),
  WEBCONF_BIND: z.string().default('0.0.0.0'),
  WEBCONF_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  WEBCONF_LOGIN_MAX_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).default(100),
  WEBCONF_LOGIN_MAX_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(100),
  /** Where the appliance keeps its configuration (firmware/, system/, hsm/). Default <data>/appliance. */
  WEBCONF_APPLIANCE_ROOT: z.string().min(1).optional(),
  WEBCONF_APPLIANCE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/, 'must be a host name: letters, digits, dot and dash')
    .optional(),
  WEBCONF_FIRMWARE_VERSION: z.string().max(64).optional(),
  /**
   * Which block devices count as USB drives besides those on a USB or hotplug
   * transport (sysfs): comma-separated names or globs of /sys/block entries,
   * e.g. "loop3,loop4" or "loop*" (tests offer loop devices this way).
   */
  WEBCONF_USB_DEVICES: z.string().max(1024).optional(),
  /** Where the console mounts USB partitions, one folder per file-system UUID. */
  WEBCONF_USB_MOUNT_ROOT: z.string().min(1).default('/run/webconf/usb'),
  /**
   * The folder a Local folder location and the storage browser's file://
   * locations stay inside (default: the whole file system; the console's own
   * data folder is never offered).
   */
  WEBCONF_LOCAL_STORAGE_ROOT: z.string().min(1).default('/'),
  NEXTAUTH_URL: z.url().optional(),
  NEXTAUTH_SECRET: z.string().min(32).optional(),
});

export type Env = z.infer<typeof envSchema>;

let cached: Env | undefined;

export function env(): Env {
  if (!cached) {
    const parsed = envSchema.safeParse(process.env);
    if (!parsed.success) {
      const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
      throw new Error(`Invalid environment:\n${lines.join('\n')}`);
    }
    cached = parsed.data;
  }
  return cached;
}

export function dataDir(): string {
  return path.resolve(env().WEBCONF_DATA_DIR);
}

export function certificateNames(): string[] {
  const configured = env().WEBCONF_HOSTNAMES;
  const names = configured ? configured.split(',').map((s) => s.trim()).filter(Boolean) : [os.hostname()];
  return [...new Set([...names, 'localhost', '127.0.0.1', '::1'])];
}

/** True when the console is reached over TLS: cookies get Secure and the __Host- prefix. */
export function isSecureOrigin(): boolean {
  return (process.env.NEXTAUTH_URL ?? '').startsWith('https://');
}
