import type { FunctionIdentity } from '../iam/TemplateIam';
import type * as http from 'node:http';
import type { StepFunctionsService } from '../stepfunctions/StepFunctionsService';
import type { FirehoseService } from './firehose';
import { AwsError, type EdgeRequest, type EdgeResponse, jsonError, LocalHttpServer, readBody, send, signedService } from './http';
import type { RedshiftDataService } from './redshiftData';
import type { S3Service } from './s3';
import type { SsmService } from './ssm';
import type { IamAuthorizer } from '../iam/IamAuthorizer';

/** S3's REST error: XML with the code and message. */
function s3Error(e: AwsError): EdgeResponse {
  const esc = (x: string) => x.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  return {
    status: e.status,
    headers: { 'content-type': 'application/xml' },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${esc(e.code)}</Code><Message>${esc(e.message)}</Message><RequestId>local</RequestId></Error>`,
  };
}

export interface EdgeServices {
  readonly s3: S3Service;
  readonly firehose: FirehoseService;
  readonly stepFunctions: StepFunctionsService;
  readonly redshiftData: RedshiftDataService;
  readonly ssm: SsmService;
  /** IAM, evaluated for every request a function of the stack makes. @default none (everything allowed) */
  readonly iam?: IamAuthorizer;
}

/**
 * One AWS-compatible endpoint for every service of the stack. JSON-protocol calls are routed by
 * `X-Amz-Target` (Firehose_20150804.*, AWSStepFunctions.*, RedshiftData.*, AmazonSSM.*); everything else is
 * S3 (path-style), also recognized by the SigV4 credential scope. A request a function of the
 * stack makes carries its identity, and IAM is evaluated for it (see {@link IamAuthorizer}).
 */
export class EdgeServer extends LocalHttpServer {
  /** Requests served per service and operation, for the cost model and tests. */
  public readonly requestCounts = new Map<string, number>();

  constructor(public readonly services: EdgeServices) {
    super();
  }

  protected async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let response: EdgeResponse;
    try {
      const body = await readBody(req);
      const request: EdgeRequest = { method: req.method ?? 'GET', url: new URL(req.url ?? '/', 'http://edge'), headers: req.headers, body };
      response = await this.route(request);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      response =
        e instanceof AwsError
          ? jsonError(e)
          : { status: 500, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ __type: 'InternalFailure', message }) };
    }
    send(res, response);
  }

  private async route(req: EdgeRequest): Promise<EdgeResponse> {
    const target = req.headers['x-amz-target'];
    const s3 = typeof target !== 'string';
    try {
      const caller = this.services.iam?.authorize(req, s3);
      if (caller) (req as { caller?: FunctionIdentity }).caller = caller;
    } catch (e) {
      if (!(e instanceof AwsError)) throw e;
      return s3 ? s3Error(e) : jsonError(e);
    }
    if (typeof target === 'string') {
      const [prefix, op] = target.split('.');
      this.count(`${prefix}.${op}`);
      if (prefix.startsWith('Firehose_')) return this.services.firehose.handle(req);
      if (prefix === 'AWSStepFunctions') return this.services.stepFunctions.handle(req);
      if (prefix === 'RedshiftData') return this.services.redshiftData.handle(req);
      if (prefix === 'AmazonSSM') return this.services.ssm.handle(req);
      return jsonError(new AwsError('UnknownOperationException', `The local edge does not serve ${target}`));
    }
    const service = signedService(req.headers) ?? 's3';
    if (service !== 's3') return jsonError(new AwsError('UnknownServiceException', `The local edge does not serve ${service}`));
    this.count(`S3.${req.method}`);
    return this.services.s3.handle(req);
  }

  private count(key: string): void {
    this.requestCounts.set(key, (this.requestCounts.get(key) ?? 0) + 1);
  }
}
