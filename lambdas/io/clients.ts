import { FirehoseClient } from '@aws-sdk/client-firehose';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';

/**
 * SDK clients, created once per execution environment (module scope, reused while warm). They
 * take region, credentials and endpoint from the standard environment (`AWS_REGION`,
 * `AWS_ENDPOINT_URL`, …): the same code runs on AWS and against the local edge. A client is
 * made again only if the endpoint variable changed (a local stack restarted in one process).
 */
const cache = new Map<string, { endpoint: string | undefined; client: unknown }>();

function memo<T>(name: string, make: () => T): T {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  const hit = cache.get(name);
  if (hit && hit.endpoint === endpoint) return hit.client as T;
  const client = make();
  cache.set(name, { endpoint, client });
  return client;
}

const maxAttempts = 5;

export function s3Client(): S3Client {
  // Path-style works everywhere (AWS and the local edge, whose host is an IP address).
  return memo('s3', () => new S3Client({ maxAttempts, forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) }));
}

export function firehoseClient(): FirehoseClient {
  return memo('firehose', () => new FirehoseClient({ maxAttempts }));
}

export function dataApiClient(): RedshiftDataClient {
  return memo('data', () => new RedshiftDataClient({ maxAttempts }));
}

export function sfnClient(): SFNClient {
  return memo('sfn', () => new SFNClient({ maxAttempts }));
}

export function ssmClient(): SSMClient {
  return memo('ssm', () => new SSMClient({ maxAttempts }));
}
