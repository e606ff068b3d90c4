/**
 * An S3-compatible object store (Ceph RADOS Gateway, MinIO, AWS S3...): one
 * bucket and a folder in it, path-style requests, keys confined to the folder,
 * uploads that leave no parts behind when they fail, and one error type,
 * S3Error, that says what went wrong in words. Knows nothing of the console
 * or of what is stored. Server-only (@aws-sdk/client-s3, node:stream).
 */
export { isS3Error, S3Error, type IncompleteUpload, type S3Failure } from './errors';
export { MAX_KEY_BYTES } from './object-key';
export {
  s3AccessKeyIdSchema,
  s3BucketSchema,
  s3ConfigSchema,
  s3EndpointSchema,
  s3FolderSchema,
  s3RegionSchema,
  s3SecretAccessKeySchema,
  type S3Config,
  type S3ConfigInput,
} from './schemas';
export { S3Store, type IncompleteUploadInfo, type S3Object, type S3ObjectStream, type S3StoreOptions } from './store';
export { DEFAULT_PART_SIZE, MIN_PART_SIZE, type PutBody, type PutOptions, type PutResult } from './upload';
