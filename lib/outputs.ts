/**
 * The stack's outputs, by key: what the CLI and local mode read. A plain module (no CDK), so the
 * CLI loads no CDK code at run time.
 */
export const STACK_OUTPUTS = {
  collectorUrl: 'CollectorUrl',
  analyticsApiHost: 'AnalyticsApiHost',
  analyticsCdnUrl: 'AnalyticsCdnUrl',
  loadStateMachineArn: 'LoadStateMachineArn',
  backfillStateMachineArn: 'BackfillStateMachineArn',
  verifyStateMachineArn: 'VerifyStateMachineArn',
  forgetStateMachineArn: 'ForgetStateMachineArn',
  controlBucket: 'ControlBucketName',
  sources: 'Sources',
  backfillLimits: 'BackfillLimits',
  rawBucket: 'RawBucketName',
  stagedBucket: 'StagedBucketName',
  warehouse: 'WarehouseTarget',
  warehouseKind: 'WarehouseKind',
  database: 'WarehouseDatabase',
  copyRoleArn: 'CopyRoleArn',
  alarmTopicArn: 'AlarmTopicArn',
  archiveReaderRoleArns: 'ArchiveReaderRoleArns',
} as const;

/**
 * The Comment prefix of a Wait state that waits out a clock outside Step Functions (another
 * function's cache): local mode, which shortens waits, runs these in real time.
 */
export const REAL_TIME_WAIT = 'Real time:';
