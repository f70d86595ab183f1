import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, CfnWaitConditionHandle, NestedStack } from 'aws-cdk-lib';
import { buildApp } from '../../lib/buildApp';
import { limitViolations } from '../../lib/limits';
import { cdkJsonContext, exampleEnvironments, synthEnvironment } from '../support/synth';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- asl-validator ships CommonJS without types
const aslValidator = require('asl-validator') as (definition: unknown) => { isValid: boolean; errorsText(sep?: string): string };

type Json = Record<string, unknown>;
type Finding = { Rule: { Id: string }; Level: string; Message: string; Location: { Path: unknown[] } };

/**
 * The warnings cfn-lint may report on our templates, each with why it stays. Anything else —
 * every error, any other warning — fails the test.
 */
const KEPT_WARNINGS: Record<string, string> = {
  W3005:
    "CDK writes a DependsOn next to a Ref/GetAtt that already implies it (e.g. a role's policy before its function); redundant, harmless, and not ours to remove.",
  W3010:
    'The warehouse subnets name their availability zones on purpose: Redshift Serverless needs three, an environment-agnostic stack gets two from CDK, and not every AZ of a region offers Redshift Serverless (lib/config/schema.ts, warehouse.availabilityZones).',
};

function cfnLint(template: Json): Finding[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfn-lint-'));
  try {
    const file = path.join(dir, 'template.json');
    fs.writeFileSync(file, JSON.stringify(template));
    const run = spawnSync('cfn-lint', ['--format', 'json', file], { encoding: 'utf8' });
    if (run.error) throw new Error(`cfn-lint could not run (${run.error.message}): pip install cfn-lint`);
    return JSON.parse(run.stdout || '[]') as Finding[];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A state machine definition with each CloudFormation reference replaced by a value of its kind. */
function substituted(definitionString: unknown, resources: Record<string, { Type: string }>): Json {
  const value = (v: unknown): string => {
    if (typeof v === 'string') return v;
    const obj = v as Json;
    if ('Fn::Join' in obj) {
      const [sep, parts] = obj['Fn::Join'] as [string, unknown[]];
      return parts.map(value).join(sep);
    }
    const id = 'Ref' in obj ? String(obj.Ref) : String((obj['Fn::GetAtt'] as string[])[0]);
    if (id.startsWith('AWS::'))
      return { 'AWS::Partition': 'aws', 'AWS::Region': 'us-east-1', 'AWS::AccountId': '123456789012', 'AWS::URLSuffix': 'amazonaws.com' }[id] ?? id;
    const type = resources[id]?.Type;
    if (type === 'AWS::Lambda::Function') return `arn:aws:lambda:us-east-1:123456789012:function:${id}`;
    if (type === 'AWS::StepFunctions::StateMachine') return `arn:aws:states:us-east-1:123456789012:stateMachine:${id}`;
    if (type === 'AWS::S3::Bucket') return id.toLowerCase();
    return id;
  };
  return JSON.parse(value(definitionString));
}

describe.each(Object.keys(exampleEnvironments()))('static validation of the %s template', (envName) => {
  const { template, templates } = synthEnvironment(envName);
  const json = template.toJSON() as { Resources: Record<string, { Type: string; Properties: Json }> };

  it('passes cfn-lint, the stack and each nested stack: no error, and only the warnings listed with their reason', () => {
    expect(Object.keys(templates).length).toBeGreaterThan(1);
    for (const [name, t] of Object.entries(templates)) {
      const findings = cfnLint(t as unknown as Json);
      const unexplained = findings.filter((f) => f.Level !== 'Warning' || !(f.Rule.Id in KEPT_WARNINGS));
      expect(unexplained.map((f) => `${name}: ${f.Level} ${f.Rule.Id} ${f.Message} at ${f.Location.Path.join('/')}`)).toEqual([]);
    }
  }, 120_000);

  it('has state machine definitions that asl-validator accepts', () => {
    const machines = Object.entries(json.Resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine');
    expect(machines.length).toBe(4);
    for (const [id, machine] of machines) {
      const result = aslValidator(substituted(machine.Properties.DefinitionString, json.Resources));
      expect({ id, errors: result.errorsText() }).toEqual({ id, errors: '' });
    }
  });
});

describe('static validation catches planted defects', () => {
  const { template } = synthEnvironment('dev');
  const json = template.toJSON() as { Resources: Record<string, { Type: string; Properties: Json }> };

  it('cfn-lint reports an error in a broken template', () => {
    const broken = {
      ...json,
      Resources: {
        ...json.Resources,
        Broken: { Type: 'AWS::Lambda::Function', Properties: { Runtime: 'nodejs99.x', Handler: 'index.handler', Code: { ZipFile: 'x' }, Role: 'not-an-arn' } },
      },
    };
    const errors = cfnLint(broken).filter((f) => f.Level === 'Error');
    expect(errors.length).toBeGreaterThan(0);
  }, 60_000);

  it('asl-validator rejects a definition whose Next names no state', () => {
    const [, machine] = Object.entries(json.Resources).find(([id, r]) => id.startsWith('LoadWorkflow') && r.Type === 'AWS::StepFunctions::StateMachine') as [
      string,
      { Properties: Json },
    ];
    const def = substituted(machine.Properties.DefinitionString, json.Resources) as { StartAt: string; States: Record<string, Json> };
    def.States[def.StartAt] = { ...def.States[def.StartAt], Next: 'NoSuchState' };
    expect(aslValidator(def).isValid).toBe(false);
  });
});

describe('limits checked at synth', () => {
  const base = exampleEnvironments().dev as Json & { sources: Json[] };
  const synthSources = (sources: Json[]) => {
    const app = new App({ context: { ...cdkJsonContext(), environments: { x: { ...base, sources } }, env: 'x', 'aws:cdk:bundling-stacks': [] } });
    buildApp(app);
    return () => app.synth();
  };
  const source = (name: string, keys = 1) => ({ name, writeKeys: Array.from({ length: keys }, (_, k) => `wk_${name}_${k}_0123456789abcdef`) });

  it('fails synth, naming the field, when a source name makes a resource name too long', () => {
    const name = `s${'x'.repeat(45)}`;
    expect(() => synthSources([source(name)])).toThrow(
      /environments\.x\.sources\[0\]\.name: "sx+" makes the schedule name "clickstream-x-verify-sx+" 67 characters; names allow 64: use at most 43 characters here/,
    );
  });

  it('backs the config check with a check of the synthesized names', () => {
    const app = new App({
      context: { ...cdkJsonContext(), environments: { x: { ...base, sources: [source('web')] } }, env: 'x', 'aws:cdk:bundling-stacks': [] },
    });
    const stack = buildApp(app);
    expect(limitViolations(stack)).toEqual([]);
    const stream = stack.node
      .findAll()
      .find((c) => (c as { cfnResourceType?: string }).cfnResourceType === 'AWS::KinesisFirehose::DeliveryStream') as unknown as { deliveryStreamName: string };
    stream.deliveryStreamName = `clickstream-x-${'w'.repeat(60)}`;
    expect(limitViolations(stack)).toEqual([expect.stringMatching(/DeliveryStreamName "clickstream-x-w+" has 74 characters; the limit is 64/)]);
  });

  it('synthesizes 50 sources with every template under 500 resources and 200 outputs, every function environment under 4 KB', () => {
    const sources = Array.from({ length: 50 }, (_, i) => source(`source${String(i).padStart(2, '0')}`, 2));
    const { templates } = synthEnvironment('x', { x: { ...base, sources } });
    const counts = Object.entries(templates).map(([name, t]) => ({
      name,
      resources: Object.keys(t.Resources).length,
      outputs: Object.keys(t.Outputs ?? {}).length,
      parameters: Object.keys(t.Parameters ?? {}).length,
    }));
    // Counted from the templates as written, not by the synth check under test: a reference counts 100 bytes.
    const bytes = (v: unknown): number =>
      typeof v === 'string'
        ? Buffer.byteLength(v)
        : Array.isArray(v)
          ? v.reduce((n: number, x) => n + bytes(x), 0)
          : v && typeof v === 'object'
            ? 'Fn::Join' in v
              ? bytes((v as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1])
              : 100
            : String(v).length;
    const environments = Object.values(templates).flatMap((t) =>
      Object.entries(t.Resources)
        .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
        .map(([id, r]) => {
          const variables = ((r.Properties?.Environment ?? {}) as { Variables?: Record<string, unknown> }).Variables ?? {};
          return { id, bytes: Object.entries(variables).reduce((n, [k, v]) => n + k.length + bytes(v), 0) };
        }),
    );
    const largest = environments.reduce((a, b) => (b.bytes > a.bytes ? b : a));
    const parameters = Object.values(templates).flatMap((t) => Object.values(t.Resources).filter((r) => r.Type === 'AWS::SSM::Parameter'));
    // The figures the deploy guide quotes (docs/deploy.md, "Limits").
    console.log(
      `limits at 50 sources: ${counts.map((c) => `${c.name} ${c.resources} resources / ${c.outputs} outputs / ${c.parameters} parameters`).join('; ')}; largest function environment ${largest.bytes} bytes (${largest.id})`,
    );
    expect(counts.length).toBe(3); // the stack and 2 source groups of 40 and 10
    for (const c of counts) expect(c.resources <= 500 && c.outputs <= 200 && c.parameters <= 200).toBe(true);
    expect(largest.bytes).toBeLessThanOrEqual(4096);
    expect(parameters.length).toBe(50);
    for (const p of parameters) expect(String(p.Properties?.Value)).not.toMatch(/wk_/); // digests only, never a key
  }, 120_000);

  it('counts resources per template: a nested stack over 500 fails synth naming it', () => {
    const app = new App({
      context: { ...cdkJsonContext(), environments: { x: { ...base, sources: [source('web')] } }, env: 'x', 'aws:cdk:bundling-stacks': [] },
    });
    const stack = buildApp(app);
    expect(limitViolations(stack)).toEqual([]);
    const group = stack.node.findAll().find((c) => NestedStack.isNestedStack(c)) as NestedStack;
    for (let i = 0; i < 500; i++) new CfnWaitConditionHandle(group, `Filler${i}`);
    expect(limitViolations(stack)).toEqual([
      expect.stringMatching(/^The nested stack Clickstream-x\/SourceGroups\/Group1 has 5\d\d resources; CloudFormation allows 500 per template/),
    ]);
  });
});
