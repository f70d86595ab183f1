import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, type IConstruct } from 'constructs';
import { acknowledge, nagAtt } from '../nag';

import { QUARANTINE_PREFIX } from '../../lambdas/core/layout';

/** Where a source's raw objects land in the raw bucket: `<source>/YYYY/MM/DD/HH/`. */
export function rawPrefix(source: string): string {
  return `${source}/`;
}

export { FIREHOSE_ERROR_PREFIX, QUARANTINE_PREFIX } from '../../lambdas/core/layout';

export interface StorageProps {
  /** Days raw and quarantined events are kept. */
  readonly rawRetentionDays: number;
  /** Days staged COPY files and plans are kept. */
  readonly stagedRetentionDays: number;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The buckets: `raw` (events as Firehose delivers them, the source of truth for every reload,
 * plus the quarantine prefix), `staged` (per-table COPY files, manifests, plans) and the access
 * log bucket. All private, encrypted, TLS-only, with lifecycle rules from the retention config.
 */
export class Storage extends Construct {
  public readonly rawBucket: s3.Bucket;
  public readonly stagedBucket: s3.Bucket;
  public readonly accessLogsBucket: s3.Bucket;
  /** Small control objects that must outlive the raw retention: each source's suppression list. */
  public readonly controlBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    if (!(props.rawRetentionDays >= 1) || !(props.stagedRetentionDays >= 1)) {
      throw new Error('Storage: retention days must be at least 1');
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const autoDeleteObjects = removalPolicy === RemovalPolicy.DESTROY;
    const common = {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
      autoDeleteObjects,
    } as const;

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      ...common,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(90) }],
    });
    acknowledge(this.accessLogsBucket, ['AwsSolutions-S1'], 'This is the access log bucket itself; logging it into itself would loop.');

    this.rawBucket = new s3.Bucket(this, 'Raw', {
      ...common,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'raw/',
      lifecycleRules: [{ id: 'expire-raw', expiration: Duration.days(props.rawRetentionDays), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    });

    // No lifecycle rule: a suppression list must outlive every raw object it keeps from loading.
    this.controlBucket = new s3.Bucket(this, 'Control', {
      ...common,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'control/',
      lifecycleRules: [{ id: 'expire-old-versions', noncurrentVersionExpiration: Duration.days(30) }],
    });

    this.stagedBucket = new s3.Bucket(this, 'Staged', {
      ...common,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'staged/',
      lifecycleRules: [{ id: 'expire-staged', expiration: Duration.days(props.stagedRetentionDays), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    });
  }

  /** Read the suppression lists (ListBucket too, so a missing list reads as 404, not 403). */
  public grantSuppressionRead(grantee: iam.IGrantable): void {
    grantObjects(this.controlBucket, grantee, ['s3:GetObject'], 'suppression/*', true);
  }

  /** Read and change the suppression lists (the forget workflow, the CLI's operator). */
  public grantSuppressionWrite(grantee: iam.IGrantable): void {
    grantObjects(this.controlBucket, grantee, ['s3:GetObject', 's3:PutObject'], 'suppression/*', true);
  }

  /** Rewrite raw and quarantined objects in place (erasure): read, list and put, no delete. */
  public grantRawRewrite(grantee: iam.IGrantable): void {
    grantObjects(this.rawBucket, grantee, ['s3:GetObject', 's3:PutObject'], '*', true);
  }

  /** Write imported raw objects under each source's prefix, and invalid lines under the quarantine prefix; no read, no delete. */
  public grantRawImport(grantee: iam.IGrantable, sources: ReadonlyArray<string>): void {
    for (const source of sources) grantObjects(this.rawBucket, grantee, ['s3:PutObject'], `${rawPrefix(source)}*`, false);
    this.grantQuarantineWrite(grantee);
  }

  /** Read raw events: list the bucket and get objects (events and quarantine). */
  public grantRawRead(grantee: iam.IGrantable): void {
    grantObjects(this.rawBucket, grantee, ['s3:GetObject'], '*', true);
  }

  /** Write invalid messages under the quarantine prefix of the raw bucket; nothing else. */
  public grantQuarantineWrite(grantee: iam.IGrantable): void {
    grantObjects(this.rawBucket, grantee, ['s3:PutObject'], `${QUARANTINE_PREFIX}*`, false);
  }

  /** Read and write plans, staged COPY files, manifests and stats. */
  public grantStagedReadWrite(grantee: iam.IGrantable): void {
    grantObjects(this.stagedBucket, grantee, ['s3:GetObject', 's3:PutObject'], '*', true);
  }
}

/** Exact object actions on a key pattern (never `s3:*`), plus ListBucket when asked. */
function grantObjects(bucket: s3.IBucket, grantee: iam.IGrantable, actions: string[], keyPattern: string, list: boolean): void {
  iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [bucket.arnForObjects(keyPattern)] });
  // The policy lands on the grantee's role, which several functions may share (the warehouse user).
  const holder = isConstruct(grantee.grantPrincipal) ? grantee.grantPrincipal : grantee;
  if (isConstruct(holder)) {
    acknowledge(
      holder,
      [`AwsSolutions-IAM5[Resource::${nagAtt(bucket)}/${keyPattern}]`],
      `Object keys (hour partitions, load ids) are only known at run time; the grant is ${actions.join(', ')} under this one prefix of this one bucket.`,
    );
  }
  if (list) iam.Grant.addToPrincipal({ grantee, actions: ['s3:ListBucket'], resourceArns: [bucket.bucketArn] });
}

function isConstruct(x: unknown): x is IConstruct {
  return typeof x === 'object' && x !== null && 'node' in x;
}
