import { randomUUID } from 'node:crypto';
import type * as http from 'node:http';
import { LocalHttpServer, readBody } from '../edge/http';
import { LambdaFunctionError, type LambdaRuntime } from '../lambda/LambdaRuntime';

/** CORS as the deployed endpoint (function URL or HTTP API) is configured to answer it. */
export interface CorsConfig {
  readonly allowOrigins: ReadonlyArray<string>;
  readonly allowMethods: ReadonlyArray<string>;
  readonly allowHeaders: ReadonlyArray<string>;
  readonly maxAgeSeconds: number;
}

export interface CollectorServerOptions {
  readonly lambdas: LambdaRuntime;
  /** ARN of the collect function. */
  readonly functionArn: string;
  readonly cors: CorsConfig;
  /** HTTP API routes (`POST /v1/t`, …); undefined for a function URL, which sends every path to the function. */
  readonly routes?: ReadonlySet<string>;
}

interface ProxyResult {
  statusCode?: number;
  headers?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
}

const MAX_PAYLOAD = 6 * 1024 * 1024;

/**
 * The collector's HTTP endpoint: each request becomes the API Gateway v2 / function URL event
 * (payload format 2.0) that the deployed endpoint would deliver, handled by the collect function;
 * CORS preflights are answered as the endpoint's CORS configuration says, before the function.
 */
export class CollectorServer extends LocalHttpServer {
  constructor(private readonly options: CollectorServerOptions) {
    super();
  }

  private corsHeaders(origin: string | undefined): Record<string, string> {
    const { cors } = this.options;
    if (!origin) return {};
    const allowed = cors.allowOrigins.includes('*') ? '*' : cors.allowOrigins.includes(origin) ? origin : undefined;
    if (!allowed) return {};
    return { 'access-control-allow-origin': allowed, ...(allowed === '*' ? {} : { vary: 'Origin' }) };
  }

  protected async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://collector');
    const method = (req.method ?? 'GET').toUpperCase();
    const origin = typeof req.headers.origin === 'string' ? req.headers.origin : undefined;
    const cors = this.corsHeaders(origin);
    const json = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...cors, ...extra });
      res.end(text);
    };

    if (method === 'OPTIONS' && req.headers['access-control-request-method']) {
      const { allowMethods, allowHeaders, maxAgeSeconds } = this.options.cors;
      if (!cors['access-control-allow-origin']) {
        res.writeHead(403, { 'content-length': 0 });
        res.end();
        return;
      }
      res.writeHead(204, {
        ...cors,
        'access-control-allow-methods': allowMethods.join(','),
        'access-control-allow-headers': allowHeaders.join(','),
        'access-control-max-age': String(maxAgeSeconds),
        'content-length': 0,
      });
      res.end();
      return;
    }

    const routeKey = this.options.routes ? matchRoute(this.options.routes, method, url.pathname) : '$default';
    if (!routeKey) {
      json(404, { message: 'Not Found' });
      return;
    }
    const body = await readBody(req);
    if (body.length > MAX_PAYLOAD) {
      json(413, { message: 'Request Entity Too Large' });
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
    // As the deployed endpoints do; here the scheme really is http.
    headers['x-forwarded-proto'] = 'http';
    const contentType = headers['content-type'] ?? '';
    const textual = !headers['content-encoding'] && (/^(text\/|application\/(json|x-www-form-urlencoded))/.test(contentType) || contentType === '');
    const now = Date.now();
    const event = {
      version: '2.0',
      routeKey,
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers,
      requestContext: {
        accountId: 'anonymous',
        apiId: 'local',
        domainName: headers.host ?? '127.0.0.1',
        domainPrefix: 'local',
        http: {
          method,
          path: url.pathname,
          protocol: `HTTP/${req.httpVersion}`,
          sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
          userAgent: headers['user-agent'] ?? '',
        },
        requestId: randomUUID(),
        routeKey,
        stage: '$default',
        time: new Date(now).toUTCString(),
        timeEpoch: now,
      },
      body: body.length === 0 ? undefined : textual ? body.toString('utf8') : body.toString('base64'),
      isBase64Encoded: body.length > 0 && !textual,
    };
    let result: ProxyResult;
    try {
      result = (await this.options.lambdas.invoke(this.options.functionArn, event)) as ProxyResult;
    } catch (e) {
      // What the endpoint answers when the function itself fails.
      const message = e instanceof LambdaFunctionError ? e.errorMessage : String(e);
      console.error(`collector function failed: ${message}`);
      json(502, { message: 'Internal Server Error' });
      return;
    }
    const out = result.body === undefined ? Buffer.alloc(0) : result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body);
    res.writeHead(result.statusCode ?? 200, { 'content-type': 'application/json', ...(result.headers ?? {}), ...cors, 'content-length': out.length });
    res.end(out);
  }
}

/** The HTTP API route key (`GET /v1/projects/{writeKey}/settings`) a request matches, as API Gateway matches it. */
function matchRoute(routes: ReadonlySet<string>, method: string, path: string): string | undefined {
  for (const key of routes) {
    const [m, pattern] = key.split(' ');
    if (m !== method && m !== 'ANY') continue;
    const re = new RegExp(`^${pattern.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^/}]+\\?\}/g, '[^/]+')}$`);
    if (re.test(path)) return key;
  }
  return undefined;
}
