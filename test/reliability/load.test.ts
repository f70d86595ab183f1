import { startTestCloud, type TestCloud } from '../support/localCloud';
import { runLoad, sql } from '../support/pipeline';

/**
 * 200 concurrent clients against the local collector for RELIABILITY_LOAD_SECONDS (60 with
 * `npm run test:reliability`; 10 in `npm test` to keep CI short): no 5xx (a 429 would have to carry
 * Retry-After), and every acknowledged event is loaded, once.
 */
const CLIENTS = 200;
const SECONDS = Number(process.env.RELIABILITY_LOAD_SECONDS ?? 10);
const PER_REQUEST = 5;

describe(`load: ${CLIENTS} concurrent clients for ${SECONDS} s`, () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 2 });
  });
  afterAll(() => t.stop());

  it(
    'answers every request with 200 (or 429 + Retry-After), and loads every acknowledged event exactly once',
    async () => {
      const key = t.cloud.endpoints.sources.find((s) => s.name === 'app')?.writeKeys[0] as string;
      const headers = { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` };
      const statuses = new Map<number, number>();
      const acknowledged: string[] = [];
      let throttledWithoutRetryAfter = 0;
      const deadline = Date.now() + SECONDS * 1000;
      const latencies: number[] = [];
      const client = async (c: number) => {
        for (let n = 0; Date.now() < deadline; n++) {
          const batch = Array.from({ length: PER_REQUEST }, (_, i) => ({
            type: 'track',
            event: 'Load Tested',
            userId: `u${c}`,
            properties: { client: c, n, i },
            messageId: `ld-${c}-${n}-${i}`,
          }));
          const started = Date.now();
          const res = await fetch(`${t.cloud.endpoints.collector}/v1/batch`, { method: 'POST', headers, body: JSON.stringify({ batch }) });
          await res.arrayBuffer();
          latencies.push(Date.now() - started);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status === 200) acknowledged.push(...batch.map((e) => e.messageId));
          else if (res.status === 429 && !res.headers.get('retry-after')) throttledWithoutRetryAfter++;
          if (res.status === 429 || res.status === 503) await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('retry-after') ?? 1)));
        }
      };
      await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
      t.cloud.firehose.flushAll();

      // Loads until nothing is left (a load takes a bounded number of objects).
      while ((await runLoad(t, { source: 'app' })).more);
      const [[distinct, rows]] = await sql(t, "SELECT COUNT(DISTINCT id), COUNT(*) FROM app.tracks WHERE id LIKE 'ld-%'");
      latencies.sort((a, b) => a - b);
      process.stdout.write(
        `\nload: ${CLIENTS} clients, ${SECONDS} s: ${acknowledged.length} events acknowledged in ${latencies.length} requests (${Math.round(acknowledged.length / SECONDS)} events/s), statuses ${JSON.stringify(Object.fromEntries(statuses))}, p50 ${latencies[Math.floor(latencies.length / 2)]} ms, p99 ${latencies[Math.floor(latencies.length * 0.99)]} ms; loaded ${distinct} distinct in ${rows} rows\n`,
      );
      expect([...statuses.keys()].filter((s) => s >= 500)).toEqual([]);
      expect(throttledWithoutRetryAfter).toBe(0);
      expect(acknowledged.length).toBeGreaterThan(CLIENTS * PER_REQUEST);
      expect(distinct).toBe(acknowledged.length);
      expect(rows).toBe(acknowledged.length);
    },
    (SECONDS + 300) * 1000,
  );
});
