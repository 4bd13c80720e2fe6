/** The S3 store: SeaweedFS (built here, the default) or MinIO's upstream image. */
import type { ParityConfig } from '../config/schema.js';
import { hostFor, publish } from './common.js';
import { httpHealth, type ServiceSpec } from './types.js';
import { S3_HTTPS_PORT } from './backup.js';

export const S3_BUCKETS = ['images', 'documents', 'backups'] as const;

export const SEAWEEDFS_METRICS_PORT = 9324;
/** The S3 API inside the network. */
export const S3_PORT = 8333;

export function s3Service(config: ParityConfig, image: string): ServiceSpec {
  const common = {
    name: 's3',
    logical: 's3',
    tier: 'data' as const,
    ports: [publish(config, config.ports.s3, 8333)],
    url: `http://${hostFor(config, 's3')}:${config.ports.s3} (buckets: ${S3_BUCKETS.join(', ')})`,
  };
  if (config.services.s3.provider === 'minio') {
    return {
      ...common,
      image,
      command: ['server', '/data', '--address', ':8333', '--console-address', ':9001'],
      environment: {
        MINIO_ROOT_USER_FILE: 's3_access_key',
        MINIO_ROOT_PASSWORD_FILE: 's3_secret_key',
        MINIO_PROMETHEUS_AUTH_TYPE: 'public',
      },
      volumes: ['s3:/data'],
      secrets: ['s3_access_key', 's3_secret_key'],
      healthcheck: { test: ['CMD', 'curl', '-fsS', 'http://127.0.0.1:8333/minio/health/live'] },
    };
  }
  return {
    ...common,
    image,
    command: [
      'mini',
      '-dir=/data',
      '-s3.config=/run/secrets/s3_config',
      `-bucket=${S3_BUCKETS.join(',')}`,
      `-metricsPort=${SEAWEEDFS_METRICS_PORT}`,
      // No phoning home from an offline, local stack.
      '-master.telemetry=false',
      '-admin.ui=false',
      // HTTPS beside HTTP for pgBackRest (it refuses plain HTTP), with a certificate for "s3" from the stack's CA.
      ...(config.backup.enabled ? [`-s3.port.https=${S3_HTTPS_PORT}`, '-s3.cert.file=/run/secrets/s3_tls_cert', '-s3.key.file=/run/secrets/s3_tls_key'] : []),
    ],
    volumes: ['s3:/data'],
    secrets: ['s3_config', ...(config.backup.enabled ? (['s3_tls_cert', 's3_tls_key'] as const) : [])],
    healthcheck: { ...httpHealth(8333, '/healthz'), startPeriod: '10s' },
  };
}
