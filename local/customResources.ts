import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { LambdaRuntime } from './lambda/LambdaRuntime';
import { LOCAL_ACCOUNT, LOCAL_REGION, type LocalTemplate } from './template';

/** What a custom resource's function answered on the pre-signed URL. */
interface CustomResourceAnswer {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason?: string;
  readonly PhysicalResourceId?: string;
}

/** Custom resources created in a data directory: properties hash and physical id, by logical id. */
type Created = Record<string, { readonly hash: string; readonly physicalId: string }>;

/**
 * What CloudFormation does with the template's custom resources when the stack is created or
 * updated ("Custom resources", CloudFormation User Guide): invokes each resource's ServiceToken
 * function with a Create request (Update when its properties changed since the last start on this
 * data directory) and waits for the answer the function PUTs to the pre-signed ResponseURL. A
 * FAILED answer, or none, fails the start as it fails the stack. Custom resources of CDK's own
 * helpers (functions local mode does not run) are left out; none of them acts on Create.
 */
export async function createCustomResources(t: LocalTemplate, lambdas: LambdaRuntime, dataDir: string): Promise<void> {
  const resources = Object.entries(t.template.Resources)
    .filter(([, r]) => r.Type.startsWith('Custom::') || r.Type === 'AWS::CloudFormation::CustomResource')
    .map(([id, r]) => ({ id, type: r.Type, properties: t.resolve(r.Properties ?? {}) as Record<string, unknown> }))
    .filter((r) => lambdas.has(String(r.properties.ServiceToken)));
  if (resources.length === 0) return;
  const file = path.join(dataDir, 'custom-resources.json');
  const created: Created = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Created) : {};
  const answers = new Map<string, CustomResourceAnswer>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        answers.set(decodeURIComponent(req.url?.slice(1) ?? ''), JSON.parse(Buffer.concat(chunks).toString('utf8')) as CustomResourceAnswer);
        res.writeHead(200).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    for (const r of resources) {
      const hash = createHash('sha256').update(JSON.stringify(r.properties)).digest('hex');
      const before = created[r.id];
      if (before?.hash === hash) continue;
      const requestId = randomUUID();
      await lambdas.invoke(String(r.properties.ServiceToken), {
        RequestType: before ? 'Update' : 'Create',
        ServiceToken: r.properties.ServiceToken,
        ResponseURL: `http://127.0.0.1:${port}/${encodeURIComponent(requestId)}`,
        StackId: `arn:aws:cloudformation:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stack/local/${requestId}`,
        RequestId: requestId,
        LogicalResourceId: r.id,
        ResourceType: r.type,
        ResourceProperties: r.properties,
        ...(before ? { PhysicalResourceId: before.physicalId, OldResourceProperties: {} } : {}),
      });
      const answer = answers.get(requestId);
      if (!answer)
        throw new Error(
          `Custom resource ${r.id} (${r.type}): its function returned without answering CloudFormation on the ResponseURL; the stack would wait for it for an hour`,
        );
      if (answer.Status !== 'SUCCESS')
        throw new Error(`Custom resource ${r.id} (${r.type}) failed to ${before ? 'update' : 'create'}: ${answer.Reason ?? 'no reason given'}`);
      created[r.id] = { hash, physicalId: answer.PhysicalResourceId ?? r.id };
      fs.writeFileSync(file, `${JSON.stringify(created, null, 2)}\n`);
    }
  } finally {
    server.close();
  }
}
