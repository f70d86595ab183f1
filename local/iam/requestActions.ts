import type { EdgeRequest } from '../edge/http';
import { bucketAndKey } from '../edge/s3';
import { LOCAL_ACCOUNT, LOCAL_REGION, localWorkgroupArn } from '../template';

/** One authorization a request needs: the action, the resource, and request-specific condition keys. */
export interface RequiredPermission {
  readonly action: string;
  readonly resource: string;
  readonly keys?: Readonly<Record<string, string>>;
}

const ARN = (service: string, resource: string) => `arn:aws:${service}:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${resource}`;

/**
 * What IAM checks for a request to the edge, per the Service Authorization Reference of each
 * service ("Actions, resources, and condition keys for Amazon S3 / Firehose / Step Functions /
 * Redshift Data API / Systems Manager"). `statementOwner` gives the user id that submitted a Data API statement.
 */
export function requiredPermissions(req: EdgeRequest, statementOwner: (id: string) => string | undefined): RequiredPermission[] {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') {
    const op = target.split('.')[1] ?? '';
    const input = JSON.parse(req.body.toString('utf8') || '{}') as Record<string, string | undefined>;
    if (target.startsWith('Firehose_')) {
      return [{ action: `firehose:${op}`, resource: input.DeliveryStreamName ? ARN('firehose', `deliverystream/${input.DeliveryStreamName}`) : '*' }];
    }
    if (target.startsWith('AWSStepFunctions.')) {
      const resource = input.executionArn ?? input.stateMachineArn ?? '*';
      return [{ action: `states:${op}`, resource }];
    }
    if (target.startsWith('RedshiftData.')) {
      if (op === 'ExecuteStatement' || op === 'BatchExecuteStatement') {
        const wg = input.WorkgroupName;
        const workgroupArn = wg ? (wg.startsWith('arn:') ? wg : localWorkgroupArn(wg)) : undefined;
        const resource = workgroupArn ?? ARN('redshift', `cluster:${input.ClusterIdentifier}`);
        // The Data API signs in as the caller: with the secret's credentials, or IAM temporary credentials.
        const signIn: RequiredPermission = input.SecretArn
          ? { action: 'secretsmanager:GetSecretValue', resource: input.SecretArn }
          : workgroupArn
            ? { action: 'redshift-serverless:GetCredentials', resource: workgroupArn }
            : { action: 'redshift:GetClusterCredentialsWithIAM', resource: ARN('redshift', `dbname:${input.ClusterIdentifier}/${input.Database}`) };
        return [{ action: `redshift-data:${op}`, resource }, signIn];
      }
      const owner = input.Id ? statementOwner(String(input.Id).split(':')[0]) : undefined;
      return [{ action: `redshift-data:${op}`, resource: '*', keys: owner ? { 'redshift-data:statement-owner-iam-userid': owner } : {} }];
    }
    if (target.startsWith('AmazonSSM.')) {
      // GetParametersByPath is authorized against the path asked for, not the parameters returned
      // ("How Parameter Store authorizes parameter retrieval").
      const name = String((op === 'GetParametersByPath' ? input.Path : input.Name) ?? '')
        .replace(/^\//, '')
        .replace(/\/$/, '');
      return [{ action: `ssm:${op}`, resource: ARN('ssm', `parameter/${name}`) }];
    }
    return [];
  }
  return s3Permissions(req);
}

function s3Permissions(req: EdgeRequest): RequiredPermission[] {
  const { bucket, key } = bucketAndKey(req.url);
  const q = req.url.searchParams;
  const object = `arn:aws:s3:::${bucket}/${key}`;
  const bucketArn = `arn:aws:s3:::${bucket}`;
  const method = req.method.toUpperCase();
  if (!bucket) return [{ action: 's3:ListAllMyBuckets', resource: '*' }];
  if (!key) {
    if (method === 'PUT') return [{ action: 's3:CreateBucket', resource: bucketArn }];
    if (method === 'DELETE') return [{ action: 's3:DeleteBucket', resource: bucketArn }];
    if (method === 'POST' && q.has('delete')) {
      const keys = [...req.body.toString('utf8').matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) =>
        m[1]
          .replace(/&amp;/g, '&')
          .replace(/&lt;/g, '<')
          .replace(/&gt;/g, '>')
          .replace(/&quot;/g, '"')
          .replace(/&apos;/g, "'"),
      );
      return keys.map((k) => ({ action: 's3:DeleteObject', resource: `${bucketArn}/${k}` }));
    }
    if (q.has('location')) return [{ action: 's3:GetBucketLocation', resource: bucketArn }];
    if (q.has('uploads')) return [{ action: 's3:ListBucketMultipartUploads', resource: bucketArn }];
    const keys: Record<string, string> = {};
    if (q.has('prefix')) keys['s3:prefix'] = q.get('prefix') ?? '';
    if (q.has('delimiter')) keys['s3:delimiter'] = q.get('delimiter') ?? '';
    return [{ action: 's3:ListBucket', resource: bucketArn, keys }];
  }
  if (method === 'GET' || method === 'HEAD') return [{ action: 's3:GetObject', resource: object }];
  if (method === 'DELETE') return [{ action: q.has('uploadId') ? 's3:AbortMultipartUpload' : 's3:DeleteObject', resource: object }];
  const copySource = req.headers['x-amz-copy-source'];
  if (method === 'PUT' && typeof copySource === 'string') {
    const source = decodeURIComponent(copySource.replace(/^\//, '').split('?')[0]);
    return [
      { action: 's3:GetObject', resource: `arn:aws:s3:::${source}` },
      { action: 's3:PutObject', resource: object },
    ];
  }
  return [{ action: 's3:PutObject', resource: object }];
}
