/** The S3 object store (SeaweedFS locally, any S3 in production) behind a breaker. */
import { CreateBucketCommand, GetObjectCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createBreaker, type Breaker } from './breakers.js';
import type { Metrics } from './metrics.js';
import type { BreakerSettings, S3Settings } from './settings.js';

export interface StoredObject {
  readonly body: Buffer;
  readonly contentType: string;
}

export interface Store {
  readonly breaker: Breaker;
  put(bucket: string, key: string, body: Buffer, contentType: string): Promise<void>;
  /** Undefined when the key doesn't exist. S3's 4xx answers don't count against the breaker. */
  get(bucket: string, key: string): Promise<StoredObject | undefined>;
  /** Upload-and-read round trip for L1 health (the architecture's storage test). */
  probe(bucket: string): Promise<{ latencyMs: number }>;
  close(): void;
}

const statusOf = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
const isMissing = (error: unknown) => ['NoSuchKey', 'NotFound'].includes((error as { name?: string }).name ?? '') || statusOf(error) === 404;
/**
 * S3 answered 4xx: the request was at fault (a missing key, a key it refuses), not the store.
 * Only 5xx, timeouts and connection errors count against the breaker, so requests for bad keys
 * can't open it for everybody.
 */
export const isS3ClientError = (error: unknown): boolean => {
  const status = statusOf(error);
  return isMissing(error) || (status !== undefined && status >= 400 && status < 500);
};

export function createStore(settings: S3Settings, breakers: BreakerSettings, metrics: Metrics): Store {
  const client = new S3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: true,
    credentials: { accessKeyId: settings.accessKey, secretAccessKey: settings.secretKey },
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1000, requestTimeout: 3000 },
  });
  const breaker = createBreaker('s3', breakers, metrics, { timeoutMs: breakers.timeoutsMs.s3, isClientError: isS3ClientError });
  const ensured = new Set<string>();
  // Buckets are created on first use: SeaweedFS makes them at start, another S3 may not.
  const ensureBucket = async (bucket: string) => {
    if (ensured.has(bucket)) return;
    try {
      await client.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch (error) {
      if (!isMissing(error)) throw error;
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    }
    ensured.add(bucket);
  };
  const get = async (bucket: string, key: string): Promise<StoredObject | undefined> => {
    try {
      const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return { body: Buffer.from(await response.Body!.transformToByteArray()), contentType: response.ContentType ?? 'application/octet-stream' };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  };
  const put = async (bucket: string, key: string, body: Buffer, contentType: string) => {
    await ensureBucket(bucket);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
  };
  return {
    breaker,
    put: (bucket, key, body, contentType) => breaker.call('put', () => put(bucket, key, body, contentType)),
    get: (bucket, key) => breaker.call('get', () => get(bucket, key)),
    probe: async (bucket) => {
      const started = performance.now();
      const body = Buffer.from(`health ${new Date().toISOString()}`);
      await put(bucket, '.parity-health', body, 'text/plain');
      const back = await get(bucket, '.parity-health');
      if (!back || !back.body.equals(body)) throw new Error('s3 health object read back differs from what was written');
      return { latencyMs: performance.now() - started };
    },
    close: () => {
      breaker.shutdown();
      client.destroy();
    },
  };
}
