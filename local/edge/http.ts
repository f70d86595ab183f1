import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FunctionIdentity } from '../iam/TemplateIam';

/** A request as the edge services see it: method, parsed URL, headers and the whole body. */
export interface EdgeRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
  /** The caller when it is a function of the stack (set by the edge's IAM check); absent for admins. */
  readonly caller?: FunctionIdentity;
}

export interface EdgeResponse {
  readonly status: number;
  readonly headers?: Record<string, string | number>;
  readonly body?: Buffer | string;
}

/** An AWS error as a service answers it; each protocol serializes it its own way. */
export class AwsError extends Error {
  constructor(
    public readonly code: string,
    message: string,
    public readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function send(res: ServerResponse, response: EdgeResponse): void {
  const body = response.body === undefined ? undefined : Buffer.isBuffer(response.body) ? response.body : Buffer.from(response.body);
  const headers: Record<string, string | number> = { ...(response.headers ?? {}) };
  if (body !== undefined && headers['content-length'] === undefined) headers['content-length'] = body.length;
  res.writeHead(response.status, headers);
  res.end(body);
}

/** JSON 1.0/1.1 protocol answer (Firehose, Step Functions, Redshift Data API). */
export function jsonResponse(value: unknown, status = 200): EdgeResponse {
  return { status, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: JSON.stringify(value) };
}

/** JSON protocol error: `__type` names the error the SDK throws. */
export function jsonError(error: AwsError): EdgeResponse {
  return {
    status: error.status,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': error.code },
    body: JSON.stringify({ __type: error.code, message: error.message }),
  };
}

/** The service a SigV4-signed request is for, read from its credential scope. */
export function signedService(headers: IncomingMessage['headers']): string | undefined {
  const auth = headers.authorization;
  if (typeof auth !== 'string') return undefined;
  const m = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(auth);
  return m?.[1];
}

/** Epoch seconds with milliseconds, as the JSON protocols serialize timestamps. */
export function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

/** An HTTP server of the local cloud: loopback by default, a free port with 0, every connection closed on close. */
export abstract class LocalHttpServer {
  private readonly server: Server;

  constructor() {
    this.server = createServer((req, res) => {
      void this.serve(req, res);
    });
    this.server.keepAliveTimeout = 65_000;
  }

  protected abstract serve(req: IncomingMessage, res: ServerResponse): Promise<void>;

  /** Listens on `port` (0 = any free one) and resolves with the port. */
  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  /** Closes the server and every open connection. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
