import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { App, NestedStack, Stack } from 'aws-cdk-lib';
import { buildApp } from '../lib/buildApp';
import { loadEnvironmentConfig } from '../lib/config/load';
import type { EnvironmentConfig } from '../lib/config/schema';
import { HANDLER_METADATA_KEY, PROJECT_ROOT } from '../lib/constructs/ClickstreamFunction';

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';

/** A role's unique id (`AROA…`), stable per logical id: what `aws:userid` starts with for its sessions. */
export function localRoleId(roleLogicalId: string): string {
  return `AROA${createHash('sha1').update(roleLogicalId).digest('hex').slice(0, 17).toUpperCase()}`;
}

/** The ARN of a Redshift Serverless workgroup as local mode names it (AWS puts a uuid where the name is). */
export function localWorkgroupArn(name: string): string {
  return `arn:aws:redshift-serverless:${LOCAL_REGION}:${LOCAL_ACCOUNT}:workgroup/${name}`;
}

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { Value: unknown }>;
  readonly Parameters?: Record<string, unknown>;
}

/** The validated configuration of one environment of cdk.json (what the stack was synthesized from). */
export function localEnvironmentConfig(envName = 'local'): EnvironmentConfig {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8'));
  return loadEnvironmentConfig(cdkJson.context?.environments, envName);
}

/**
 * Synthesizes one environment of the CDK app in-process — the same `buildApp` that `cdk synth`
 * runs — and returns its CloudFormation template. Lambda bundling is skipped: local mode runs the
 * handler modules themselves.
 */
export function synthesizeTemplate(envName = 'local'): CfnTemplate {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8'));
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'clickstream-synth-'));
  try {
    const app = new App({ outdir, context: { ...cdkJson.context, env: envName, 'aws:cdk:bundling-stacks': [] } });
    const stack = buildApp(app, envName);
    const assembly = app.synth();
    return flattenNestedStacks(assembly.getStackByName(stack.stackName).template as CfnTemplate, nestedTemplates(stack, outdir));
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

type Json = unknown;

/** The templates of a synthesized stack's nested stacks (read from the assembly in `outdir`), by their logical id in the stack. */
export function nestedTemplates(stack: Stack, outdir: string): Map<string, CfnTemplate> {
  const nested = new Map<string, CfnTemplate>();
  for (const n of stack.node.findAll().filter((c): c is NestedStack => NestedStack.isNestedStack(c))) {
    const resource = n.nestedStackResource;
    if (!resource || Stack.of(resource) !== stack)
      throw new Error(`Nested stack ${n.node.path} is not a child of the stack: local mode reads one level of nesting`);
    nested.set(stack.resolve(resource.logicalId) as string, JSON.parse(fs.readFileSync(path.join(outdir, n.templateFile), 'utf8')) as CfnTemplate);
  }
  return nested;
}

/** Maps every `Ref`, `Fn::GetAtt`, `Fn::Sub` reference and `DependsOn` entry through `f`. */
function mapReferences(value: Json, f: { ref(id: string): Json; getAtt(id: string, attr: string): Json; sub(id: string): string | undefined }): Json {
  if (Array.isArray(value)) return value.map((v) => mapReferences(v, f));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, Json>;
  const keys = Object.keys(obj);
  if (keys.length === 1 && keys[0] === 'Ref') return f.ref(String(obj.Ref));
  if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
    const arg = obj['Fn::GetAtt'];
    const [id, ...attr] = Array.isArray(arg) ? (arg as string[]) : String(arg).split('.');
    return f.getAtt(String(id), attr.join('.'));
  }
  if (keys.length === 1 && keys[0] === 'Fn::Sub') {
    const arg = obj['Fn::Sub'];
    const [text, vars] = Array.isArray(arg) ? (arg as [string, Record<string, Json>]) : [String(arg), {}];
    const rewritten = text.replace(/\$\{([^}!][^}]*)\}/g, (whole, name: string) => {
      if (name in vars) return whole;
      const [id, attr] = name.split('.');
      const to = f.sub(id);
      return to === undefined ? whole : `\${${to}${attr ? `.${attr}` : ''}}`;
    });
    return { 'Fn::Sub': [rewritten, mapReferences(vars, f)] };
  }
  return Object.fromEntries(keys.map((k) => [k, mapReferences(obj[k], f)]));
}

/**
 * One template with the nested stacks' resources in it, as CloudFormation would wire them: a
 * nested template's parameters become the expressions its parent passes, its resources are
 * prefixed with the nested stack's logical id, and the parent's `Fn::GetAtt [Stack, Outputs.X]`
 * become the nested output's value. Local mode then runs one set of resources, whatever the split.
 */
export function flattenNestedStacks(parent: CfnTemplate, nested: ReadonlyMap<string, CfnTemplate>): CfnTemplate {
  const resources: Record<string, CfnResource> = {};
  const outputs = new Map<string, Record<string, Json>>();
  for (const [stackId, child] of nested) {
    const stackResource = parent.Resources[stackId];
    if (stackResource?.Type !== 'AWS::CloudFormation::Stack') throw new Error(`The template has no nested stack ${stackId}`);
    const passed = (stackResource.Properties?.Parameters ?? {}) as Record<string, Json>;
    const own = (id: string) => id in child.Resources;
    const mapping = {
      ref: (id: string): Json => (id in passed ? passed[id] : own(id) ? { Ref: `${stackId}${id}` } : { Ref: id }),
      getAtt: (id: string, attr: string): Json => ({ 'Fn::GetAtt': [own(id) ? `${stackId}${id}` : id, attr] }),
      sub: (id: string) => (own(id) ? `${stackId}${id}` : undefined),
    };
    for (const [id, res] of Object.entries(child.Resources)) {
      const { DependsOn, ...rest } = res as CfnResource & { DependsOn?: string | string[] };
      const deps = DependsOn === undefined ? undefined : (Array.isArray(DependsOn) ? DependsOn : [DependsOn]).map((d) => `${stackId}${d}`);
      resources[`${stackId}${id}`] = { ...(mapReferences(rest, mapping) as CfnResource), ...(deps ? { DependsOn: deps } : {}) };
    }
    outputs.set(stackId, Object.fromEntries(Object.entries(child.Outputs ?? {}).map(([name, o]) => [name, mapReferences(o.Value, mapping)])));
  }
  for (const [id, res] of Object.entries(parent.Resources)) if (!nested.has(id)) resources[id] = res;
  // The parent's references to nested outputs (an output may pass on what another one gave).
  const toOutputs = {
    ref: (id: string): Json => ({ Ref: id }),
    getAtt: (id: string, attr: string): Json => {
      const out = outputs.get(id);
      if (!out) return { 'Fn::GetAtt': [id, attr] };
      const name = attr.replace(/^Outputs\./, '');
      if (!(name in out)) throw new Error(`Nested stack ${id} has no output ${name}`);
      return mapReferences(out[name], toOutputs);
    },
    sub: () => undefined,
  };
  const flat = mapReferences({ Resources: resources, Outputs: parent.Outputs ?? {} }, toOutputs) as CfnTemplate;
  for (const res of Object.values(flat.Resources) as Array<CfnResource & { DependsOn?: string | string[] }>) {
    if (res.DependsOn === undefined) continue;
    const deps = (Array.isArray(res.DependsOn) ? res.DependsOn : [res.DependsOn]).filter((d) => !nested.has(d));
    res.DependsOn = deps;
  }
  return flat;
}

/**
 * Local physical names and values for the template's resources, and a resolver of the
 * CloudFormation intrinsics our stack uses (Ref, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split,
 * Fn::Sub).
 */
export class LocalTemplate {
  constructor(public readonly template: CfnTemplate) {}

  resourcesOfType(type: string): Array<[string, CfnResource]> {
    return Object.entries(this.template.Resources).filter(([, r]) => r.Type === type);
  }

  /** The local physical id (`Ref`) of a resource. */
  ref(logicalId: string): string {
    const pseudo: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::Region': LOCAL_REGION,
      'AWS::AccountId': LOCAL_ACCOUNT,
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': 'Clickstream-local',
      'AWS::NoValue': '',
    };
    if (logicalId in pseudo) return pseudo[logicalId];
    const res = this.template.Resources[logicalId];
    if (!res) throw new Error(`The template has no resource ${logicalId}`);
    const props = res.Properties ?? {};
    switch (res.Type) {
      case 'AWS::S3::Bucket':
        return logicalId.toLowerCase();
      case 'AWS::StepFunctions::StateMachine':
        return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${String(props.StateMachineName ?? logicalId)}`;
      case 'AWS::KinesisFirehose::DeliveryStream':
        return String(props.DeliveryStreamName ?? logicalId);
      case 'AWS::Lambda::Function':
        return logicalId;
      default:
        return logicalId;
    }
  }

  /** `Fn::GetAtt` of a resource. */
  getAtt(logicalId: string, attribute: string): string {
    const res = this.template.Resources[logicalId];
    if (!res) throw new Error(`The template has no resource ${logicalId}`);
    if (res.Type === 'AWS::IAM::Role' && attribute === 'RoleId') return localRoleId(logicalId);
    if (res.Type === 'AWS::RedshiftServerless::Workgroup' && attribute === 'Workgroup.WorkgroupArn') {
      return localWorkgroupArn(String(res.Properties?.WorkgroupName ?? logicalId));
    }
    if (attribute === 'Arn') {
      switch (res.Type) {
        case 'AWS::S3::Bucket':
          return `arn:aws:s3:::${this.ref(logicalId)}`;
        case 'AWS::Lambda::Function':
          return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${logicalId}`;
        case 'AWS::IAM::Role':
          return `arn:aws:iam::${LOCAL_ACCOUNT}:role/${logicalId}`;
        case 'AWS::KinesisFirehose::DeliveryStream':
          return `arn:aws:firehose:${LOCAL_REGION}:${LOCAL_ACCOUNT}:deliverystream/${this.ref(logicalId)}`;
        case 'AWS::StepFunctions::StateMachine':
          return this.ref(logicalId);
        default:
          return `arn:aws:local:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${logicalId}`;
      }
    }
    if (attribute === 'Name') return this.ref(logicalId);
    if (res.Type === 'AWS::Lambda::Url' && attribute === 'FunctionUrl') return 'http://127.0.0.1/';
    return `${logicalId}.${attribute}`;
  }

  /** Resolves every intrinsic inside `value`. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1) {
      const [k] = keys;
      const arg = obj[k];
      switch (k) {
        case 'Ref':
          return this.ref(String(arg));
        case 'Fn::GetAtt': {
          const [id, attr] = Array.isArray(arg) ? arg : String(arg).split('.');
          return this.getAtt(String(id), String(attr));
        }
        case 'Fn::Join': {
          const [sep, parts] = arg as [string, unknown[]];
          return (this.resolve(parts) as unknown[]).map(String).join(sep);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [number, unknown];
          return (this.resolve(list) as unknown[])[Number(this.resolve(index))];
        }
        case 'Fn::Split': {
          const [sep, str] = arg as [string, unknown];
          return String(this.resolve(str)).split(sep);
        }
        case 'Fn::Sub': {
          const [text, vars] = Array.isArray(arg) ? (arg as [string, Record<string, unknown>]) : [String(arg), {}];
          return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
            if (name in vars) return String(this.resolve(vars[name]));
            const [id, attr] = name.split('.');
            return attr ? this.getAtt(id, attr) : this.ref(id);
          });
        }
        default:
          break;
      }
    }
    return Object.fromEntries(keys.map((k) => [k, this.resolve(obj[k])]));
  }

  /** A function's handler module (absolute path) from the metadata the construct writes. */
  handlerModule(logicalId: string): string {
    const module = this.template.Resources[logicalId]?.Metadata?.[HANDLER_METADATA_KEY];
    if (typeof module !== 'string') throw new Error(`Function ${logicalId} has no ${HANDLER_METADATA_KEY} metadata`);
    return path.join(PROJECT_ROOT, module);
  }
}
