import type { App } from 'aws-cdk-lib';
import { ClickstreamStack } from './ClickstreamStack';
import { ConfigError, loadEnvironmentConfig } from './config/load';

/**
 * Adds the stack of the environment chosen with `-c env=<name>` to `app`: `Clickstream-<name>`.
 * Environments are independent; a bad configuration stops synthesis with a message naming the
 * field and its fix.
 */
export function buildApp(app: App, envName: string | undefined = app.node.tryGetContext('env')): ClickstreamStack {
  let config;
  try {
    config = loadEnvironmentConfig(app.node.tryGetContext('environments'), envName);
  } catch (e) {
    if (e instanceof ConfigError) {
      // A plain message, not a stack trace: this is the user's configuration, not our bug.
      console.error(`\n${e.message}\n`);
    }
    throw e;
  }
  return new ClickstreamStack(app, `Clickstream-${envName}`, {
    envName: envName as string,
    config,
    env: config.account || config.region ? { account: config.account, region: config.region } : undefined,
    description: `Clickstream ETL (${envName}): Segment-compatible collector, S3, Step Functions loads into Redshift`,
  });
}
