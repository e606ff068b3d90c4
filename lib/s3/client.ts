import http from 'node:http';
import https from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';
import type { S3Config } from './schemas';

/**
 * The SDK client for an S3-compatible gateway, configured from S3Config alone:
 * nothing comes from AWS_* environment variables or ~/.aws (explicit
 * credentials, endpoint, region and flags), so a store behaves the same on
 * every machine.
 *
 *  - forcePathStyle: http://host/bucket/key, no per-bucket DNS name needed.
 *  - Checksums WHEN_REQUIRED: since 3.729 the SDK otherwise sends CRC32
 *    checksums (and trailers) with every upload and checks them on downloads;
 *    Ceph RGW before Squid, MinIO releases and others refuse or ignore them.
 *    SigV4 still signs the SHA-256 of every body (bodies are buffers here).
 *  - Timeouts: connectTimeoutMs for the TCP/TLS connection, idleTimeoutMs for
 *    a socket with no traffic either way (a long transfer is fine as long as
 *    bytes move). No overall request timeout: large parts on slow links.
 *  - Three attempts for what the SDK deems transient (5xx, throttling,
 *    connection errors); bodies are buffers, so a retry resends the same bytes.
 */
export function makeS3Client(config: S3Config): S3Client {
  const agentOptions = { keepAlive: true, maxSockets: 16 };
  return new S3Client({
    endpoint: config.endpoint,
    region: config.region,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    useFipsEndpoint: false,
    useDualstackEndpoint: false,
    useArnRegion: false,
    disableMultiregionAccessPoints: true,
    disableS3ExpressSessionAuth: true,
    followRegionRedirects: false,
    maxAttempts: 3,
    retryMode: 'standard',
    requestHandler: {
      connectionTimeout: config.connectTimeoutMs,
      socketTimeout: config.idleTimeoutMs,
      httpAgent: new http.Agent(agentOptions),
      httpsAgent: new https.Agent(agentOptions),
    },
  });
}
