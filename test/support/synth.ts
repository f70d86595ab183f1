import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../lib/buildApp';
import type { ClickstreamStack } from '../../lib/ClickstreamStack';
import { type CfnTemplate, flattenNestedStacks, nestedTemplates } from '../../local/template';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The `context` of cdk.json: feature flags and the example environments. */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')).context;
}

/**
 * Synthesizes one environment's stack the way `cdk synth -c env=<name>` does, with cdk.json's
 * context, but without bundling Lambda code (unit tests look at the template, not the code).
 */
export function synthEnvironment(envName: string, environments?: Record<string, unknown>): SynthesizedEnvironment {
  const context = cdkJsonContext();
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'clickstream-test-synth-'));
  try {
    const app = new App({
      outdir,
      context: { ...context, ...(environments ? { environments } : {}), env: envName, 'aws:cdk:bundling-stacks': [] },
    });
    const stack = buildApp(app);
    const parent = app.synth().getStackByName(stack.stackName).template as CfnTemplate;
    const nested = nestedTemplates(stack, outdir);
    return {
      app,
      stack,
      template: Template.fromJSON(flattenNestedStacks(parent, nested) as unknown as Record<string, unknown>),
      templates: { [stack.stackName]: parent, ...Object.fromEntries(nested) },
    };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

export interface SynthesizedEnvironment {
  readonly app: App;
  readonly stack: ClickstreamStack;
  /** Every resource of the stack and its nested stacks in one template (nested ids prefixed with their stack's), for assertions. */
  readonly template: Template;
  /** Each template as CloudFormation receives it: the stack's and each nested stack's (by its logical id). */
  readonly templates: Readonly<Record<string, CfnTemplate>>;
}

/** The example environments from cdk.json. */
export function exampleEnvironments(): Record<string, Record<string, unknown>> {
  return cdkJsonContext().environments as Record<string, Record<string, unknown>>;
}
