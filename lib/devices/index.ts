/**
 * Managed devices at the bottom: exporting a device's configuration over SSH
 * (export.ts), the model library (models/), the fleet pool (pool.ts,
 * export-fleet.ts). Plain objects in (schemas.ts), results or one DeviceError
 * out; nothing here knows the console's database or UI, and nothing is
 * written: the caller encrypts and stores. Server-only (ssh2).
 */
export { DeviceError, isDeviceError, type DeviceErrorDetails, type DeviceFailure } from './errors';
export { configurationDigest, exportConfiguration, type ConfigurationExport, type ExportOptions, type ExportOutcome, type HostKeyProbe } from './export';
export { exportDevices, type FleetDevice, type FleetOptions } from './export-fleet';
export { DEVICE_MODELS, deviceModel, type DeviceFacts, type DeviceModel } from './models';
export { runPool, type PoolTask, type ProgressEvent, type RunPoolOptions, type TaskOutcome, type TaskState } from './pool';
export {
  deviceConnectionSchema,
  deviceModelIdSchema,
  deviceModelSchema,
  poolOptionsSchema,
  type DeviceConnection,
  type DeviceConnectionInput,
  type DeviceModelId,
  type DeviceModelInput,
  type PoolOptionsInput,
} from './schemas';
