import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../lib/buildApp';
import type { ClickstreamStack } from '../../lib/ClickstreamStack';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The `context` of cdk.json: feature flags and the example environments. */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')).context;
}

/**
 * Synthesizes one environment's stack the way `cdk synth -c env=<name>` does, with cdk.json's
 * context, but without bundling Lambda code (unit tests look at the template, not the code).
 */
export function synthEnvironment(envName: string, environments?: Record<string, unknown>): { app: App; stack: ClickstreamStack; template: Template } {
  const context = cdkJsonContext();
  const app = new App({
    context: { ...context, ...(environments ? { environments } : {}), env: envName, 'aws:cdk:bundling-stacks': [] },
  });
  const stack = buildApp(app);
  return { app, stack, template: Template.fromStack(stack) };
}

/** The example environments from cdk.json. */
export function exampleEnvironments(): Record<string, Record<string, unknown>> {
  return cdkJsonContext().environments as Record<string, Record<string, unknown>>;
}
