/**
 * Collector throughput: events/s per core through the collect handler (validation, enrichment,
 * packing, the real Firehose SDK client serializing and signing PutRecordBatch over HTTP to a
 * responder in another process that accepts everything) for batches of 100 realistic events, with p50/p99 latency per batch —
 * beside the floor of any JS collector measured in the same run: JSON.parse + JSON.stringify of
 * the same bodies. Goal: ≥ 0.5 of that floor.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { generateEvents } from '../cli/traffic';

const BATCHES = Number(process.env.BENCH_BATCHES ?? 300);
const PER_BATCH = 100;

const RESPONDER = `
const http = require('node:http');
const server = http.createServer((req, res) => {
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
    AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench',
    POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'WARN',
    COLLECTOR_SOURCES: JSON.stringify([{ name: 'web', writeKeys: ['bench-write-key'], collect: true, stream: 'bench-web' }]),
    RAW_BUCKET: 'bench-raw', QUARANTINE_PREFIX: '_quarantine/',
  });
  const { handler } = await import('../lambdas/collect/handler');

  const events = [...generateEvents(BATCHES * PER_BATCH, { duplicates: 0 })];
  const bodies: string[] = [];
  for (let b = 0; b < BATCHES; b++) bodies.push(JSON.stringify({ batch: events.slice(b * PER_BATCH, (b + 1) * PER_BATCH), sentAt: new Date().toISOString() }));
  const auth = `Basic ${Buffer.from('bench-write-key:').toString('base64')}`;
  const event = (body: string) => ({
    rawPath: '/v1/batch', headers: { authorization: auth, 'content-type': 'application/json' }, body, isBase64Encoded: false,
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
    rawPath: '/v1/track', headers: { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`, 'content-type': 'application/json' }, body: '{"type":"track","event":"E","userId":"u"}', isBase64Encoded: false,
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
    unknownKeyNearMissMedianUs: Number(nearUs.toFixed(1)),
    unknownKeyUnrelatedMedianUs: Number(farUs.toFixed(1)),
    unknownKeyNearMissOverUnrelated: Number((nearUs / farUs).toFixed(3)),
  };
}

if (require.main === module) {
  void benchCollector().then((r) => console.table(r));
}
