import { ConfigError, loadEnvironmentConfig } from '../../../lib/config/load';
import { exampleEnvironments } from '../../support/synth';

const AZS = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
const minimal = { sources: [{ name: 'web', writeKeys: ['wk_web_12345678'] }], warehouse: { type: 'serverless', availabilityZones: AZS } };

function errorOf(environments: unknown, envName: string | undefined): string {
  try {
    loadEnvironmentConfig(environments, envName);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadEnvironmentConfig', () => {
  it.each(['local', 'dev', 'prod'])('accepts the %s example of cdk.json', (name) => {
    const config = loadEnvironmentConfig(exampleEnvironments(), name);
    expect(config.sources.length).toBeGreaterThan(0);
  });

  it('fills safe defaults', () => {
    const config = loadEnvironmentConfig({ x: minimal }, 'x');
    expect(config.sources[0]).toMatchObject({ schedule: 'rate(5 minutes)', collect: true, load: true, dryRun: false });
    expect(config.warehouse).toEqual({ type: 'serverless', database: 'clickstream', baseCapacityRpu: 8, availabilityZones: AZS });
    expect(config.collector.endpoint).toBe('function-url');
    expect(config.concurrency).toEqual({ transformFanOut: 8, tableLoads: 4, backfillCeiling: 8, backfillDefault: 4 });
    expect(config.load.maxObjectsPerLoad).toBe(500);
    expect(config.removalPolicy).toBe('retain');
  });

  it('asks for -c env=<name> and lists the environments when none is chosen', () => {
    expect(errorOf({ dev: minimal, prod: minimal }, undefined)).toBe('Choose an environment with -c env=<name>; configured: dev, prod.');
  });

  it('names an unknown environment and the configured ones', () => {
    expect(errorOf({ dev: minimal }, 'staging')).toMatch(/^Unknown environment "staging": configured are dev\. Add it under context\.environments/);
  });

  it.each([
    [
      { ...minimal, sources: [{ name: 'Web-Site', writeKeys: ['wk_web_12345678'] }] },
      'environments.x.sources[0].name: must be 1–63 characters of lowercase letters',
    ],
    [{ ...minimal, sources: [{ name: 'web', writeKeys: [] }] }, 'environments.x.sources[0].writeKeys: list at least one write key'],
    [{ ...minimal, sources: [{ name: 'web', writeKeys: ['short'] }] }, 'environments.x.sources[0].writeKeys[0]: a write key must have at least 8 characters'],
    [
      { ...minimal, sources: [{ name: 'web', writeKeys: ['wk_web_12345678'], schedule: 'every 5 minutes' }] },
      'environments.x.sources[0].schedule: must be an EventBridge Scheduler expression such as "rate(5 minutes)"',
    ],
    [{ ...minimal, sources: [] }, 'environments.x.sources: configure at least one source'],
    [
      {
        ...minimal,
        sources: [
          { name: 'web', writeKeys: ['k_12345678'] },
          { name: 'web', writeKeys: ['k_87654321'] },
        ],
      },
      'environments.x.sources: source names must be unique',
    ],
    [
      {
        ...minimal,
        sources: [
          { name: 'web', writeKeys: ['k_12345678'] },
          { name: 'app', writeKeys: ['k_12345678'] },
        ],
      },
      'environments.x.sources: a write key may belong to one source only',
    ],
    [
      { ...minimal, warehouse: { type: 'serverless', baseCapacityRpu: 12, availabilityZones: AZS } },
      'environments.x.warehouse.baseCapacityRpu: must be a multiple of 8',
    ],
    [
      { ...minimal, warehouse: { type: 'serverless' } },
      'environments.x.warehouse.availabilityZones: Redshift Serverless needs subnets in at least 3 availability zones: list three AZs of the region, e.g. ["us-east-1a","us-east-1b","us-east-1c"] (see docs/deploy.md)',
    ],
    [
      { ...minimal, warehouse: { type: 'serverless', availabilityZones: ['us-east-1a', 'us-east-1b'] } },
      'environments.x.warehouse.availabilityZones: Redshift Serverless needs subnets in at least 3 availability zones',
    ],
    [
      { ...minimal, region: 'eu-west-1', warehouse: { type: 'serverless', availabilityZones: AZS } },
      "environments.x.warehouse.availabilityZones: every availability zone must be in the environment's region",
    ],
    [{ ...minimal, warehouse: { type: 'mysql' } }, 'environments.x.warehouse.type: set "type" to "serverless", "existing-workgroup" or "existing-cluster"'],
    [
      { ...minimal, warehouse: { type: 'existing-workgroup', workgroupArn: 'my-workgroup', database: 'dev' } },
      'environments.x.warehouse.workgroupArn: must be a workgroup ARN',
    ],
    [{ ...minimal, collector: { endpoint: 'alb' } }, 'environments.x.collector.endpoint: must be "function-url" or "http-api"'],
    [
      { ...minimal, collector: { endpoint: 'http-api', domainName: 'c.example.com' } },
      'environments.x.collector.domainName: domainName and certificateArn go together',
    ],
    [
      { ...minimal, collector: { domainName: 'c.example.com', certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/x' } },
      'environments.x.collector.domainName: a custom domain needs endpoint "http-api"',
    ],
    [{ ...minimal, firehose: { bufferingIntervalSeconds: 1200 } }, 'environments.x.firehose.bufferingIntervalSeconds: Firehose buffers at most 900 seconds'],
    [
      { ...minimal, concurrency: { backfillCeiling: 2, backfillDefault: 4 } },
      'environments.x.concurrency.backfillDefault: backfillDefault must not exceed backfillCeiling',
    ],
    [{ ...minimal, alarmEmail: 'oncall' }, 'environments.x.alarmEmail: must be an e-mail address'],
    [{ ...minimal, region: 'Europe' }, 'environments.x.region: must be an AWS region such as "us-east-1"'],
    [
      { ...minimal, archiveBuckets: ['s3://acme-logs/'] },
      'environments.x.archiveBuckets[0]: must be an S3 bucket ARN such as "arn:aws:s3:::my-segment-archive" (no key, no wildcard)',
    ],
    [{ ...minimal, archiveBuckets: ['arn:aws:s3:::*'] }, 'environments.x.archiveBuckets[0]: must be an S3 bucket ARN'],
  ])('names the field and the fix: %#', (env, expected) => {
    const message = errorOf({ x: env }, 'x');
    expect(message).toContain('Invalid configuration for environment "x" (cdk.json → context.environments.x):');
    expect(message).toContain(expected);
  });

  it('rejects unknown keys, which are usually typos', () => {
    expect(errorOf({ x: { ...minimal, retenton: { rawDays: 1 } } }, 'x')).toContain('environments.x: Unrecognized key: "retenton"');
  });
});
