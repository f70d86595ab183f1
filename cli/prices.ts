/**
 * AWS list prices the cost model uses: US East (N. Virginia), on-demand, first tier, in USD, as
 * published on the services' pricing pages when this file was last reviewed (the `asOf` date).
 * Free tiers are left out (they vanish at scale). Review them before relying on an estimate:
 * prices change, and other regions differ.
 */
export const PRICES = {
  asOf: '2026-11-22',
  region: 'us-east-1',
  apiGatewayHttpApi: {
    /** Per million requests (first 300 million a month); each 512 KB of a request counts as one. */
    perMillionRequests: 1.0,
    meteredRequestBytes: 512 * 1024,
    source: 'https://aws.amazon.com/api-gateway/pricing/',
  },
  lambda: {
    /** Function URLs have no charge of their own: only the function's requests and duration. */
    perMillionRequests: 0.2,
    /** Arm (Graviton2), first 7.5 billion GB-seconds a month. */
    perGbSecondArm: 0.0000133334,
    source: 'https://aws.amazon.com/lambda/pricing/',
  },
  firehose: {
    /** Direct PUT ingestion per GB, first 500 TB a month; each record is rounded up to a multiple of 5 KB. */
    perGbIngested: 0.029,
    recordRoundingBytes: 5 * 1024,
    source: 'https://aws.amazon.com/firehose/pricing/',
  },
  s3: {
    /** S3 Standard storage per GB-month (first 50 TB). */
    perGbMonth: 0.023,
    /** PUT, COPY, POST, LIST per 1,000 requests. */
    perThousandTier1: 0.005,
    /** GET, SELECT and all other requests per 1,000. */
    perThousandTier2: 0.0004,
    source: 'https://aws.amazon.com/s3/pricing/',
  },
  stepFunctions: {
    /** Standard workflows per 1,000 state transitions. */
    perThousandTransitions: 0.025,
    source: 'https://aws.amazon.com/step-functions/pricing/',
  },
  scheduler: {
    /** EventBridge Scheduler per million invocations (after 14 million free a month). */
    perMillionInvocations: 1.0,
    source: 'https://aws.amazon.com/eventbridge/pricing/',
  },
  redshiftDataApi: {
    /** The Data API has no charge of its own; the warehouse's compute is billed. */
    perCall: 0,
    source: 'https://aws.amazon.com/redshift/pricing/',
  },
  redshiftServerless: {
    /** Per RPU-hour, billed per second with a 60-second minimum while queries run. */
    perRpuHour: 0.375,
    minimumSeconds: 60,
    source: 'https://aws.amazon.com/redshift/pricing/',
  },
  cloudWatchLogs: {
    /** Standard log ingestion per GB. */
    perGbIngested: 0.5,
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  xray: {
    /** Traces recorded, per million. */
    perMillionTraces: 5.0,
    source: 'https://aws.amazon.com/xray/pricing/',
  },
} as const;
