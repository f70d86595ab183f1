import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../lib/buildApp';
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
    return assembly.getStackByName(stack.stackName).template as CfnTemplate;
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
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
