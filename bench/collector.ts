/**
 * Collector throughput: events/s per core through the collect handler (validation, enrichment,
 * packing, the real Firehose SDK client serializing and signing PutRecordBatch over HTTP to a
 * responder in another process that accepts everything; the source's suppression list, read once
 * and cached, does not exist) for batches of 100 realistic events, with p50/p99 latency per batch —
 * beside the floor of any JS collector measured in the same run: JSON.parse + JSON.stringify of
 * the same bodies. Goal: ≥ 0.5 of that floor.
 */
import { spawn } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import * as zlib from 'node:zlib';
import { generateEvents } from '../cli/traffic';
import { sourceParameterValue } from '../lambdas/core/sourceDirectory';

const BATCHES = Number(process.env.BENCH_BATCHES ?? 300);
const PER_BATCH = 100;

/** The source's Parameter Store entry, as the stack writes it (read once, then cached). */
const SOURCE_ENTRY = {
  Name: '/bench/sources/web',
  Type: 'String',
  Value: sourceParameterValue({ name: 'web', writeKeys: ['bench-write-key'], stream: 'bench-web', collect: true }),
};

const RESPONDER = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  // Parameter Store: the one source.
  if (req.headers['x-amz-target'] === 'AmazonSSM.GetParametersByPath') {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
    return res.end(JSON.stringify({ Parameters: [${JSON.stringify(SOURCE_ENTRY)}] }));
  }
  // S3: the suppression list of the source does not exist (no one was erased).
  if (req.method === 'GET') {
    res.writeHead(404, { 'content-type': 'application/xml' });
    return res.end('<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>');
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const n = JSON.parse(Buffer.concat(chunks).toString()).Records.length;
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
    res.end(JSON.stringify({ FailedPutCount: 0, RequestResponses: Array.from({ length: n }, (_, i) => ({ RecordId: String(i) })) }));
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

/**
 * A hand-made PutRecordBatch request, as small as one can be: the batch's lines in one record,
 * base64, the JSON body, and a SigV4 signature (HMAC-SHA256, the signing key cached per day as the
 * SDK does). No HTTP: what a collector with the leanest possible client must still spend per batch.
 */
const signingKeys = new Map<string, Buffer>();
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
function handMadePutRecordBatch(lines: string[], now: Date): { body: string; authorization: string } {
  const body = JSON.stringify({ DeliveryStreamName: 'bench-web', Records: [{ Data: Buffer.from(lines.join('')).toString('base64') }] });
  const amzDate = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const scope = `${day}/us-east-1/firehose/aws4_request`;
  const payloadHash = createHash('sha256').update(body).digest('hex');
  const headers = `content-type:application/x-amz-json-1.1\nhost:firehose.us-east-1.amazonaws.com\nx-amz-date:${amzDate}\nx-amz-target:Firehose_20150804.PutRecordBatch\n`;
  const signed = 'content-type;host;x-amz-date;x-amz-target';
  const canonical = `POST\n/\n\n${headers}\n${signed}\n${payloadHash}`;
  const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`;
  let key = signingKeys.get(day);
  if (!key) signingKeys.set(day, (key = hmac(hmac(hmac(hmac('AWS4bench', day), 'us-east-1'), 'firehose'), 'aws4_request')));
  return { body, authorization: `AWS4-HMAC-SHA256 Credential=bench/${scope}, SignedHeaders=${signed}, Signature=${hmac(key, toSign).toString('hex')}` };
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

export async function benchCollector(): Promise<Record<string, number | string>> {
  // A Firehose that accepts every record, in another process: only the handler's work is measured here.
  const responder = spawn(process.execPath, ['-e', RESPONDER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => responder.stdout?.once('data', (d) => resolve(Number(String(d).trim()))));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'WARN',
    SOURCES_PARAMETER_PATH: '/bench/sources',
    SOURCES_CACHE_SECONDS: '3600',
    RAW_BUCKET: 'bench-raw',
    QUARANTINE_PREFIX: '_quarantine/',
    CONTROL_BUCKET: 'bench-control',
    SUPPRESSION_CACHE_SECONDS: '3600',
  });
  const { handler } = await import('../lambdas/collect/handler');

  const events = [...generateEvents(BATCHES * PER_BATCH, { duplicates: 0 })];
  const bodies: string[] = [];
  for (let b = 0; b < BATCHES; b++) bodies.push(JSON.stringify({ batch: events.slice(b * PER_BATCH, (b + 1) * PER_BATCH), sentAt: new Date().toISOString() }));
  const auth = `Basic ${Buffer.from('bench-write-key:').toString('base64')}`;
  const event = (body: string) => ({
    rawPath: '/v1/batch',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body,
    isBase64Encoded: false,
    requestContext: { http: { method: 'POST', sourceIp: '198.51.100.7' }, requestId: 'bench' },
  });

  // Warm-up of both paths.
  for (const body of bodies.slice(0, 20)) {
    await handler(event(body) as never);
    for (const m of JSON.parse(body).batch) JSON.stringify(m);
  }

  // Floor: parse the body and serialize each message again (what any JS collector must do).
  let sink = 0;
  const floorCpu = process.cpuUsage();
  const floorStart = performance.now();
  for (let round = 0; round < 3; round++) for (const body of bodies) for (const m of JSON.parse(body).batch) sink += JSON.stringify(m).length;
  const floorMs = performance.now() - floorStart;
  const floorCpuMs = (process.cpuUsage(floorCpu).user + process.cpuUsage(floorCpu).system) / 1000;
  const floorEventsPerCpuSecond = (3 * BATCHES * PER_BATCH) / (floorCpuMs / 1000);

  // Fairer floor: the same, plus the request any Firehose client must build (hand-made PutRecordBatch).
  const requestCpu = process.cpuUsage();
  for (let round = 0; round < 3; round++) {
    for (const body of bodies) {
      const lines = (JSON.parse(body).batch as unknown[]).map((m) => `${JSON.stringify(m)}\n`);
      sink += handMadePutRecordBatch(lines, new Date()).authorization.length;
    }
  }
  const requestFloorCpuMs = (process.cpuUsage(requestCpu).user + process.cpuUsage(requestCpu).system) / 1000;
  const requestFloorEventsPerCpuSecond = (3 * BATCHES * PER_BATCH) / (requestFloorCpuMs / 1000);

  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (const body of bodies) {
    const t0 = performance.now();
    const res = await handler(event(body) as never);
    latencies.push(performance.now() - t0);
    if ((res as { statusCode: number }).statusCode !== 200) throw new Error(`handler answered ${JSON.stringify(res)}`);
  }
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  const handlerEventsPerCpuSecond = (BATCHES * PER_BATCH) / (cpuMs / 1000);
  // Unknown write keys: a near miss of the real key (one character off) beside an unrelated key of
  // another length, interleaved, so that any dependence of the 401 path on the key would show.
  const reject = (key: string) => ({
    rawPath: '/v1/track',
    headers: { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`, 'content-type': 'application/json' },
    body: '{"type":"track","event":"E","userId":"u"}',
    isBase64Encoded: false,
    requestContext: { http: { method: 'POST', sourceIp: '198.51.100.7' }, requestId: 'bench' },
  });
  const nearMiss = reject('bench-write-kex');
  const unrelated = reject('zz-0123456789-unrelated-key');
  const authTimes = { near: [] as number[], far: [] as number[] };
  for (let i = 0; i < 20_000; i++) {
    const near = i % 2 === 0;
    const t0 = performance.now();
    const res = await handler((near ? nearMiss : unrelated) as never);
    (near ? authTimes.near : authTimes.far).push(performance.now() - t0);
    if ((res as { statusCode: number }).statusCode !== 401) throw new Error(`an unknown key was answered ${JSON.stringify(res)}`);
  }
  const nearUs = percentile(authTimes.near, 50) * 1000;
  const farUs = percentile(authTimes.far, 50) * 1000;

  // A junk flood with a wrong key (the write key is public in every page): CPU per rejected request
  // of a full batch, gzipped with the key in the header (server libraries) and plain with the key in
  // the body (analytics.js), beside what deciding only after decompressing and parsing costs.
  const junk = bodies[0].replace('{"batch"', '{"writeKey":"wrong-key-0123456789","batch"');
  const zipped = zlib.gzipSync(junk);
  const wrongHeader = {
    rawPath: '/v1/batch',
    headers: {
      authorization: `Basic ${Buffer.from('wrong-key-0123456789:').toString('base64')}`,
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    },
    body: zipped.toString('base64'),
    isBase64Encoded: true,
    requestContext: { http: { method: 'POST', sourceIp: '198.51.100.7' }, requestId: 'bench' },
  };
  const wrongBody = {
    rawPath: '/v1/batch',
    headers: { 'content-type': 'text/plain' },
    body: junk,
    isBase64Encoded: false,
    requestContext: { http: { method: 'POST', sourceIp: '198.51.100.7' }, requestId: 'bench' },
  };
  const cpuUs = async (n: number, f: () => unknown) => {
    const c = process.cpuUsage();
    for (let i = 0; i < n; i++) await f();
    const u = process.cpuUsage(c);
    return (u.user + u.system) / n;
  };
  const ROUNDS = 2000;
  const rejectHeaderUs = await cpuUs(ROUNDS, async () => {
    if (((await handler(wrongHeader as never)) as { statusCode: number }).statusCode !== 401) throw new Error('a wrong header key was not answered 401');
  });
  const decodeFirstUs = await cpuUs(ROUNDS, () => JSON.parse(zlib.gunzipSync(Buffer.from(wrongHeader.body, 'base64')).toString('utf8')));
  const rejectBodyUs = await cpuUs(ROUNDS, async () => {
    if (((await handler(wrongBody as never)) as { statusCode: number }).statusCode !== 401) throw new Error('a wrong body key was not answered 401');
  });
  const parseFirstUs = await cpuUs(ROUNDS, () => JSON.parse(junk));
  responder.kill();
  void sink;
  return {
    batches: BATCHES,
    eventsPerBatch: PER_BATCH,
    avgEventBytes: Math.round(bodies.reduce((n, b) => n + b.length, 0) / (BATCHES * PER_BATCH)),
    floorEventsPerSecond: Math.round((3 * BATCHES * PER_BATCH) / (floorMs / 1000)),
    floorEventsPerCpuSecond: Math.round(floorEventsPerCpuSecond),
    handlerEventsPerCpuSecond: Math.round(handlerEventsPerCpuSecond),
    handlerEventsPerSecondWall: Math.round((BATCHES * PER_BATCH) / (wallMs / 1000)),
    p50BatchMs: Number(percentile(latencies, 50).toFixed(2)),
    p99BatchMs: Number(percentile(latencies, 99).toFixed(2)),
    ratioToFloor: Number((handlerEventsPerCpuSecond / floorEventsPerCpuSecond).toFixed(3)),
    floorWithPutRecordBatchEventsPerCpuSecond: Math.round(requestFloorEventsPerCpuSecond),
    ratioToFloorWithPutRecordBatch: Number((handlerEventsPerCpuSecond / requestFloorEventsPerCpuSecond).toFixed(3)),
    unknownKeyNearMissMedianUs: Number(nearUs.toFixed(1)),
    unknownKeyUnrelatedMedianUs: Number(farUs.toFixed(1)),
    unknownKeyNearMissOverUnrelated: Number((nearUs / farUs).toFixed(3)),
    junkBatchBytes: junk.length,
    'rejected (key in header, gzip body): CPU µs': Number(rejectHeaderUs.toFixed(1)),
    'gunzip + parse of that body: CPU µs': Number(decodeFirstUs.toFixed(1)),
    'rejected (key in plain body): CPU µs': Number(rejectBodyUs.toFixed(1)),
    'parse of that body: CPU µs': Number(parseFirstUs.toFixed(1)),
  };
}

if (require.main === module) {
  void benchCollector().then((r) => console.table(r));
}
