import { CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { resourceNamePrefix } from './config/load';
import type { EnvironmentConfig } from './config/schema';
import { BackfillWorkflow } from './constructs/BackfillWorkflow';
import { Collector } from './constructs/Collector';
import { ForgetWorkflow } from './constructs/ForgetWorkflow';
import { LoadWorkflow } from './constructs/LoadWorkflow';
import { Monitoring } from './constructs/Monitoring';
import { SourceGroups } from './constructs/SourceGroups';
import { QUARANTINE_PREFIX, Storage } from './constructs/Storage';
import { VerifyWorkflow } from './constructs/VerifyWorkflow';
import { Warehouse } from './constructs/Warehouse';
import { limitViolations } from './limits';
import { sourceParameterPath } from '../lambdas/core/sourceDirectory';
import { sourceFlagsEnv } from '../lambdas/core/config';
import { STACK_OUTPUTS } from './outputs';

export interface ClickstreamStackProps extends StackProps {
  /** Environment name (`-c env=<name>`); names resources. */
  readonly envName: string;
  /** The validated environment configuration. */
  readonly config: EnvironmentConfig;
}

export { STACK_OUTPUTS } from './outputs';

/** The whole pipeline for one environment; it only composes constructs. */
export class ClickstreamStack extends Stack {
  constructor(scope: Construct, id: string, props: ClickstreamStackProps) {
    super(scope, id, props);
    const { config, envName } = props;
    const namePrefix = resourceNamePrefix(envName);
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    const storage = new Storage(this, 'Storage', {
      rawRetentionDays: config.retention.rawDays,
      stagedRetentionDays: config.retention.stagedDays,
      removalPolicy,
    });
    const collector = new Collector(this, 'Collector', {
      config: config.collector,
      sourcesParameterPath: sourceParameterPath(namePrefix),
      storage,
      suppressionCacheSeconds: config.privacy.suppressionCacheSeconds,
    });
    const warehouse = new Warehouse(this, 'Warehouse', { config: config.warehouse, stagedBucket: storage.stagedBucket, namePrefix, removalPolicy });

    const environment = {
      SOURCES: sourceFlagsEnv(config.sources),
      RAW_BUCKET: storage.rawBucket.bucketName,
      STAGED_BUCKET: storage.stagedBucket.bucketName,
      QUARANTINE_PREFIX,
      MAX_OBJECTS_PER_LOAD: String(config.load.maxObjectsPerLoad),
      MAX_BACKFILL_DAYS: String(config.load.maxBackfillDays),
      BACKFILL_CEILING: String(config.concurrency.backfillCeiling),
      BACKFILL_DEFAULT_CONCURRENCY: String(config.concurrency.backfillDefault),
      TOLERATED_FAILURE_PERCENTAGE: String(config.load.toleratedFailurePercentage),
      MERGE_WINDOW_DAYS: String(config.load.mergeWindowDays),
      CONTROL_BUCKET: storage.controlBucket.bucketName,
      SUPPRESSION_CACHE_SECONDS: String(config.privacy.suppressionCacheSeconds),
      // A forget waits until every collector has re-read the list and every Firehose buffer it fed has been delivered.
      SUPPRESSION_SETTLE_SECONDS: String(config.privacy.suppressionCacheSeconds + config.firehose.bufferingIntervalSeconds + 10),
    };
    const load = new LoadWorkflow(this, 'LoadWorkflow', {
      storage,
      warehouse,
      environment,
      transformFanOut: config.concurrency.transformFanOut,
      tableLoads: config.concurrency.tableLoads,
      stateMachineName: `${namePrefix}-load`,
    });
    const backfill = new BackfillWorkflow(this, 'BackfillWorkflow', {
      storage,
      warehouse,
      loadStateMachine: load.stateMachine,
      environment,
      stateMachineName: `${namePrefix}-backfill`,
      sources: config.sources.map((s) => s.name),
      archiveBuckets: config.archiveBuckets,
    });
    storage.grantSuppressionRead(load.functions.transform);
    const forget = new ForgetWorkflow(this, 'ForgetWorkflow', { storage, warehouse, environment, stateMachineName: `${namePrefix}-forget` });
    const verify = new VerifyWorkflow(this, 'VerifyWorkflow', { storage, warehouse, environment, stateMachineName: `${namePrefix}-verify` });
    const monitoring = new Monitoring(this, 'Monitoring', {
      loadStateMachine: load.stateMachine,
      backfillStateMachine: backfill.stateMachine,
      verifyStateMachine: verify.stateMachine,
      collector5xx: collector.metric5xx,
      alarmEmail: config.alarmEmail,
    });
    // Per-source resources in nested stacks: the parent does not grow with the number of sources.
    const sources = new SourceGroups(this, 'SourceGroups', {
      sources: config.sources,
      rawBucket: storage.rawBucket,
      namePrefix,
      bufferingInterval: Duration.seconds(config.firehose.bufferingIntervalSeconds),
      bufferingSizeMiB: config.firehose.bufferingSizeMiB,
      loadStateMachine: load.stateMachine,
      verifyStateMachine: verify.stateMachine,
      topic: monitoring.topic,
    });
    sources.grantPutRecords(collector.function);
    sources.grantReadSources(collector.function);

    const out = (key: string, value: string, description: string) => new CfnOutput(this, key, { value, description });
    out(STACK_OUTPUTS.collectorUrl, collector.url, 'Collector base URL: the Segment HTTP API is under /v1 (Segment libraries: host)');
    out(STACK_OUTPUTS.analyticsApiHost, `${collector.host}/v1`, 'analytics.js apiHost (integrations["Segment.io"].apiHost)');
    out(
      STACK_OUTPUTS.analyticsCdnUrl,
      `https://${collector.host}`,
      'analytics.js cdnURL: the snippet loads <this>/analytics.js/v1/<writeKey>/analytics.min.js',
    );
    out(STACK_OUTPUTS.loadStateMachineArn, load.stateMachine.stateMachineArn, 'Load workflow');
    out(
      STACK_OUTPUTS.backfillStateMachineArn,
      backfill.stateMachine.stateMachineArn,
      'Backfill workflow: start it from the console with {"source","from","to","mode"}, or import a Segment archive with {"source","mode":"import","archive":{"bucket","prefix"},"from","to"}',
    );
    out(STACK_OUTPUTS.verifyStateMachineArn, verify.stateMachine.stateMachineArn, 'Verification workflow (daily per source): {"source","from"?,"to"?}');
    out(
      STACK_OUTPUTS.forgetStateMachineArn,
      forget.stateMachine.stateMachineArn,
      'Forget workflow (erase and suppress identities): {"source","userIds","anonymousIds","dryRun"}',
    );
    out(STACK_OUTPUTS.controlBucket, storage.controlBucket.bucketName, 'Suppression lists of erased identities');
    out(
      STACK_OUTPUTS.sources,
      JSON.stringify(config.sources.map(({ name, collect, load, dryRun }) => ({ name, collect, load, dryRun }))),
      'Sources and their flags (no write keys)',
    );
    out(
      STACK_OUTPUTS.backfillLimits,
      JSON.stringify({
        maxBackfillDays: config.load.maxBackfillDays,
        ceiling: config.concurrency.backfillCeiling,
        defaultConcurrency: config.concurrency.backfillDefault,
      }),
      'What a backfill may ask for (the CLI checks a request before starting it)',
    );
    out(STACK_OUTPUTS.rawBucket, storage.rawBucket.bucketName, 'Raw events');
    out(STACK_OUTPUTS.stagedBucket, storage.stagedBucket.bucketName, 'Staged COPY files and plans');
    out(STACK_OUTPUTS.warehouse, warehouse.target, 'Redshift Serverless workgroup (name or ARN) or cluster identifier');
    out(STACK_OUTPUTS.warehouseKind, warehouse.kind, 'What WarehouseTarget names: workgroup or cluster');
    out(STACK_OUTPUTS.database, warehouse.database, 'Warehouse database');
    out(STACK_OUTPUTS.copyRoleArn, warehouse.copyRole.roleArn, 'Role COPY uses; associate it with an imported workgroup or cluster');
    out(STACK_OUTPUTS.alarmTopicArn, monitoring.topic.topicArn, 'Alarm topic');
    out(
      STACK_OUTPUTS.archiveReaderRoleArns,
      Fn.join(',', backfill.archiveReaderRoleArns),
      "Roles that read a Segment archive in an import (list and get): name them in the archive bucket's policy when it is in another account",
    );

    // What would fail CloudFormation or Lambda half-way through a deploy fails synth instead.
    this.node.addValidation({ validate: () => limitViolations(this) });
  }
}
