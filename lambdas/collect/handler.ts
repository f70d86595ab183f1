import * as zlib from 'node:zlib';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { collectorConfig } from '../core/config';
import { TransientError } from '../core/errors';
import { METRIC_NAMES, METRIC_SERVICES, METRICS_NAMESPACE } from '../core/metrics';
import { BUNDLE_PREAMBLE, CACHE_SECONDS, type CdnRequest, parseCdnPath, settingsFor } from '../core/analyticsCdn';
import { COLLECTOR_ROUTES, type CollectorRoute } from '../core/routes';
import { enrichMessage, LIMITS, type SegmentMessage, validateMessage } from '../core/segment';
import { firehoseClient, s3Client, ssmClient } from '../io/clients';
import { sourceDirectory } from '../io/sourceParameters';
import type { SourceDirectory, SourceEntry } from '../core/sourceDirectory';
import { analyticsAsset } from '../io/analyticsAssets';
import { packRecords, putAll } from '../io/firehoseSink';
import { ObjectStore } from '../io/objects';
import { SuppressionStore } from '../io/suppression';

const logger = new Logger({ serviceName: METRIC_SERVICES.collector });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRIC_SERVICES.collector });

type Source = SourceEntry;

/** The environment's sources (from Parameter Store, cached). */
async function sources(): Promise<SourceDirectory> {
  const config = collectorConfig();
  return sourceDirectory(ssmClient(), config.SOURCES_PARAMETER_PATH, config.SOURCES_CACHE_SECONDS, (error) =>
    logger.warn('sources could not be re-read; serving the copy read before', { error }),
  );
}

/** An answer to the client: `success` plus, on errors, a machine code and a reason a person can act on. */
function reply(statusCode: number, body: Record<string, unknown>, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}
const fail = (statusCode: number, code: string, message: string) => reply(statusCode, { success: false, code, message });

class RequestError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

function decodeBody(event: APIGatewayProxyEventV2): Buffer {
  if (!event.body) throw new RequestError(400, 'empty_body', 'The request has no body: send a JSON message or {"batch": […]}');
  let body = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  const encoding = (event.headers['content-encoding'] ?? '').toLowerCase();
  if (encoding.includes('gzip') || (body[0] === 0x1f && body[1] === 0x8b)) {
    try {
      body = zlib.gunzipSync(body, { maxOutputLength: LIMITS.batchBytes + 1 });
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
        throw new RequestError(400, 'batch_too_large', `The uncompressed body exceeds the ${LIMITS.batchBytes / 1024} KB batch limit`);
      throw new RequestError(400, 'invalid_gzip', `Content-Encoding is gzip but the body does not decompress: ${(e as Error).message}`);
    }
  }
  if (body.length > LIMITS.batchBytes)
    throw new RequestError(400, 'batch_too_large', `The body is ${body.length} bytes; the limit is ${LIMITS.batchBytes / 1024} KB per request`);
  return body;
}

/** The write key of the Basic auth header (its user name), if the request has one. */
function headerWriteKey(event: APIGatewayProxyEventV2): string | undefined {
  const auth = event.headers.authorization ?? event.headers.Authorization;
  if (auth && /^basic\s+/i.test(auth)) {
    const decoded = Buffer.from(auth.replace(/^basic\s+/i, ''), 'base64').toString('utf8');
    const user = decoded.includes(':') ? decoded.slice(0, decoded.indexOf(':')) : decoded;
    if (user) return user;
  }
  return undefined;
}

const bodyWriteKey = (body: Record<string, unknown>) => (typeof body.writeKey === 'string' && body.writeKey ? body.writeKey : undefined);

/**
 * The write key checked before the body costs anything: a key in the Basic auth header (server
 * libraries) before the body is even decompressed; a key in a plain JSON body (analytics.js sends it
 * there) before it is parsed, from its `"writeKey":"…"` texts — a body that names keys and none of
 * them valid is rejected at once. Anything this cannot decide (a gzip body without the header, an
 * escaped key) is checked after parsing, as before. Returns the source of a header key (decided
 * once: the hot path does not hash the key twice).
 */
function checkKeyEarly(event: APIGatewayProxyEventV2, directory: SourceDirectory): Source | undefined {
  const header = headerWriteKey(event);
  if (header !== undefined) {
    const source = directory.sourceForKey(header);
    if (!source) throw new RequestError(401, 'invalid_write_key', 'Unknown write key');
    return source;
  }
  if (!event.body || event.isBase64Encoded || (event.headers['content-encoding'] ?? '').toLowerCase().includes('gzip')) return;
  const named = [...event.body.matchAll(/"writeKey"\s*:\s*"([^"\\]*)(["\\])/g)];
  if (named.length === 0 || named.some((m) => m[2] === '\\' || directory.sourceForKey(m[1]) !== undefined)) return undefined;
  throw new RequestError(401, 'invalid_write_key', 'Unknown write key');
}

/**
 * Rejects a message over 32 KB as sent. Its stored form is serialized anyway; the sent form is at
 * most that long plus a dropped writeKey and re-formatted dates, so only messages near the limit
 * are serialized a second time to measure exactly.
 */
function checkMessageSize(message: unknown, storedLine: string, index: number): void {
  const writeKey = message && typeof message === 'object' && 'writeKey' in message ? (JSON.stringify((message as SegmentMessage).writeKey) ?? '') : '';
  if (storedLine.length + writeKey.length + 80 <= LIMITS.messageBytes / 4) return; // even 4-byte characters stay under the limit
  const size = Buffer.byteLength(JSON.stringify(message) ?? '');
  if (size > LIMITS.messageBytes)
    throw new RequestError(400, 'message_too_large', `Message ${index} is ${size} bytes; the limit is ${LIMITS.messageBytes / 1024} KB per message`);
}

/**
 * Answers a GET that Segment's CDN would answer (analytics.js, its chunks, a write key's
 * settings), gzipped when the client accepts it, with cache headers. Unknown keys get 404.
 */
async function serveCdn(event: APIGatewayProxyEventV2, request: CdnRequest): Promise<APIGatewayProxyStructuredResultV2> {
  if (request.kind !== 'chunk' && !(await sources()).sourceForKey(request.writeKey))
    throw new RequestError(404, 'unknown_write_key', 'No source has this write key');
  const cache = { 'cache-control': `public, max-age=${CACHE_SECONDS[request.kind]}` };
  if (request.kind === 'settings') {
    const host = event.headers.host ?? event.requestContext?.domainName ?? '';
    const protocol = (event.headers['x-forwarded-proto'] ?? 'https') === 'http' ? 'http' : 'https';
    return reply(200, settingsFor(request.writeKey, host, protocol), cache);
  }
  const asset = request.kind === 'bundle' ? analyticsAsset('standalone.js', BUNDLE_PREAMBLE) : analyticsAsset(request.file);
  if (!asset) throw new RequestError(404, 'not_found', 'No such analytics.js file');
  const gzip = /\bgzip\b/.test(event.headers['accept-encoding'] ?? '');
  return {
    statusCode: 200,
    headers: { 'content-type': 'text/javascript; charset=utf-8', ...cache, ...(gzip ? { 'content-encoding': 'gzip' } : {}), vary: 'Accept-Encoding' },
    body: (gzip ? asset.gzipped : asset.body).toString('base64'),
    isBase64Encoded: true,
  };
}

function hourPath(d: Date): string {
  return d.toISOString().slice(0, 13).replace(/-/g, '/').replace('T', '/');
}

/**
 * The Segment HTTP Tracking API: `/v1/batch`, `/v1/b`, `/v1/{track,page,screen,identify,group,alias}`
 * and their short forms. Answers 2xx only after Firehose accepted every valid message and the
 * invalid ones are in the quarantine prefix: accepted = stored + quarantined.
 */
export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const receivedAt = new Date();
  const method = event.requestContext?.http?.method?.toUpperCase() ?? 'POST';
  const path = event.rawPath ?? '';
  try {
    if (method === 'OPTIONS') return { statusCode: 204 };
    const cdn = method === 'GET' ? parseCdnPath(path) : undefined;
    if (cdn) return await serveCdn(event, cdn);
    const route = /^\/v1\/([a-z]+)\/?$/.exec(path)?.[1] as CollectorRoute | undefined;
    if (!route || !Object.prototype.hasOwnProperty.call(COLLECTOR_ROUTES, route))
      throw new RequestError(
        404,
        'not_found',
        `Unknown path ${path.slice(0, 100)}: use /v1/batch, /v1/track, /v1/page, /v1/screen, /v1/identify, /v1/group, /v1/alias or their short forms`,
      );
    if (method !== 'POST') throw new RequestError(405, 'method_not_allowed', `${method} is not allowed: send POST`);
    const call = COLLECTOR_ROUTES[route];
    const directory = await sources();
    const headerSource = checkKeyEarly(event, directory);
    const raw = decodeBody(event);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (e) {
      throw new RequestError(400, 'invalid_json', `The body is not valid JSON: ${(e as Error).message}`);
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new RequestError(400, 'invalid_body', 'The body must be a JSON object');
    const request = body as Record<string, unknown>;
    const writeKey = headerSource ? undefined : bodyWriteKey(request);
    if (!headerSource && !writeKey)
      throw new RequestError(401, 'missing_write_key', 'No write key: send it as the Basic auth user name or as "writeKey" in the body');
    const source = headerSource ?? directory.sourceForKey(writeKey as string);
    if (!source) throw new RequestError(401, 'invalid_write_key', 'Unknown write key');
    if (!source.collect)
      throw new RequestError(403, 'source_disabled', `Collection is turned off for source "${source.name}" (its collect flag); nothing was stored`);

    let messages: unknown[];
    if (call === 'batch') {
      if (!Array.isArray(request.batch)) throw new RequestError(400, 'invalid_batch', '"batch" must be an array of messages');
      messages = request.batch;
      if (messages.length > LIMITS.batchMessages)
        throw new RequestError(400, 'batch_too_large', `The batch has ${messages.length} messages; the limit is ${LIMITS.batchMessages}`);
    } else {
      messages = [request];
    }

    const config = collectorConfig();
    // Erased identities: answered 200 as Segment does, stored nowhere, counted.
    const suppressed = await new SuppressionStore(new ObjectStore(s3Client()), config.CONTROL_BUCKET, config.SUPPRESSION_CACHE_SECONDS).matcher(source.name);
    let suppressedCount = 0;
    const ip = event.requestContext?.http?.sourceIp;
    const batch = call === 'batch' ? { context: request.context, integrations: request.integrations, sentAt: request.sentAt } : undefined;
    const lines: string[] = [];
    const quarantined: Buffer[] = [];
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i];
      const candidate = call === 'batch' ? message : { ...(message as SegmentMessage), type: call };
      if (suppressed.message(candidate)) {
        suppressedCount++;
        continue;
      }
      const reason = validateMessage(candidate);
      if (reason) {
        const { writeKey: _drop, ...kept } = (candidate && typeof candidate === 'object' ? candidate : { value: candidate }) as SegmentMessage;
        void _drop;
        const line = JSON.stringify({ reason, receivedAt: receivedAt.toISOString(), source: source.name, message: kept });
        checkMessageSize(message, line, i);
        quarantined.push(Buffer.from(`${line}\n`));
        continue;
      }
      const enriched = enrichMessage(candidate as SegmentMessage, {
        receivedAt,
        ip,
        ipPolicy: source.ip,
        batch,
        routeCall: call === 'batch' ? undefined : call,
      });
      const line = JSON.stringify(enriched);
      checkMessageSize(message, line, i);
      lines.push(`${line}\n`);
    }

    let calls = 0;
    if (lines.length > 0) ({ calls } = await putAll(firehoseClient(), source.stream, packRecords(lines)));
    if (quarantined.length > 0) {
      const key = `${config.QUARANTINE_PREFIX}${source.name}/${hourPath(receivedAt)}/${receivedAt.getTime()}-${event.requestContext?.requestId ?? Math.random().toString(36).slice(2)}.json.gz`;
      await new ObjectStore(s3Client()).putGzip(config.RAW_BUCKET, key, Buffer.concat(quarantined));
    }
    metrics.addDimension('Source', source.name);
    metrics.addMetric(METRIC_NAMES.eventsAccepted, MetricUnit.Count, lines.length);
    metrics.addMetric(METRIC_NAMES.eventsQuarantined, MetricUnit.Count, quarantined.length);
    if (suppressedCount > 0) metrics.addMetric('EventsSuppressed', MetricUnit.Count, suppressedCount);
    metrics.addMetric('BatchSize', MetricUnit.Count, messages.length);
    logger.debug('request stored', { source: source.name, route, accepted: lines.length, quarantined: quarantined.length, firehoseCalls: calls });
    return reply(200, { success: true });
  } catch (e) {
    if (e instanceof RequestError) {
      metrics.addMetric('RequestsRejected', MetricUnit.Count, 1);
      logger.info('request rejected', { path, status: e.status, code: e.code, reason: e.message });
      return fail(e.status, e.code, e.message);
    }
    if (e instanceof TransientError) {
      logger.warn('storage unavailable, asking the client to retry', { error: e.message });
      return reply(503, { success: false, code: 'unavailable', message: 'Events could not be stored right now; retry later' }, { 'retry-after': '1' });
    }
    logger.error('unexpected error', { error: e as Error });
    return reply(500, { success: false, code: 'internal_error', message: 'Internal error' });
  } finally {
    // GETs of analytics.js and preflights record no metric: nothing to publish then.
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
}
