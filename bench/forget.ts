/**
 * Erasure of one user (docs/performance.md, "Erasure"): N events (BENCH_FORGET_EVENTS, default
 * 1,000,000; the traffic generator's users, six call types) put into the raw bucket as Firehose
 * would have delivered them and loaded by a "missing" backfill; then `npx clickstream forget` of
 * one user as a dry run and for real, side by side with that load in one run. The forget's
 * real-time Settle wait (collector cache + Firehose buffer + margin) is part of its time and is
 * reported on its own.
 */
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import * as zlib from 'node:zlib';
import { runBackfill } from '../cli/backfill';
import { runForget } from '../cli/forget';
import { nullStream } from '../cli/format';
import { localTarget } from '../cli/target';
import { enrichedForRaw, generateEvents } from '../cli/traffic';
import { hourPrefix } from '../lambdas/core/layout';
import { startBenchCloud } from './cloud';
import { synthesizeTemplate } from '../local/template';

const EVENTS = Number(process.env.BENCH_FORGET_EVENTS ?? 1_000_000);
const PER_FILE = 10_000;
const DAY0 = Date.parse('2026-10-01T00:00:00Z');
const HOURS = 48;

export async function benchForget(): Promise<Record<string, number | string>> {
  const template = synthesizeTemplate('local');
  const { cloud, dataDir } = await startBenchCloud('forget', { template });
  try {
    const files = new Map<string, string[]>();
    const users = new Map<string, number>();
    let i = 0;
    for (const msg of generateEvents(EVENTS, { seed: 29, duplicates: 0.05 })) {
      const hour = Math.floor((i++ * HOURS) / EVENTS);
      const userId = (msg as { userId?: string }).userId;
      if (userId) users.set(userId, (users.get(userId) ?? 0) + 1);
      const folder = hourPrefix('web', new Date(DAY0 + hour * 3_600_000));
      const lines = files.get(folder) ?? [];
      lines.push(JSON.stringify(enrichedForRaw(msg, new Date(DAY0 + hour * 3_600_000 + 60_000).toISOString())));
      files.set(folder, lines);
    }
    let objects = 0;
    for (const [folder, lines] of files) {
      for (let k = 0; k < lines.length; k += PER_FILE) {
        cloud.store.put(cloud.endpoints.buckets.raw, `${folder}part-${k / PER_FILE}.gz`, zlib.gzipSync(`${lines.slice(k, k + PER_FILE).join('\n')}\n`));
        objects++;
      }
    }
    files.clear();
    // The user with the most events: the hardest single request.
    const [user, userEvents] = [...users].sort((a, b) => b[1] - a[1])[0];
    const target = localTarget(dataDir);
    const range = { from: new Date(DAY0).toISOString(), to: new Date(DAY0 + HOURS * 3_600_000).toISOString() };
    const t0 = performance.now();
    if ((await runBackfill(target, { source: 'web', ...range, mode: 'missing', json: true }, nullStream(), nullStream())) !== 0)
      throw new Error('the load failed');
    const loadSeconds = (performance.now() - t0) / 1000;

    const out: string[] = [];
    const capture = new Writable({ write: (chunk, _enc, cb) => (out.push(String(chunk)), cb()) });
    const t1 = performance.now();
    if ((await runForget(target, { source: 'web', userIds: [user], anonymousIds: [], dryRun: true, json: true }, nullStream(), nullStream())) !== 0)
      throw new Error('the dry run failed');
    const drySeconds = (performance.now() - t1) / 1000;
    const t2 = performance.now();
    if ((await runForget(target, { source: 'web', userIds: [user], anonymousIds: [], json: true }, capture, nullStream())) !== 0)
      throw new Error('the erasure failed');
    const forgetSeconds = (performance.now() - t2) / 1000;
    const receipt = (
      JSON.parse(out.join('')) as {
        receipts: Array<{ rowsDeleted: Record<string, number>; objects: { objects: number; rewritten: number; linesRemoved: number } }>;
      }
    ).receipts[0];
    const settle = settleSeconds(template);
    return {
      events: EVENTS,
      'raw objects': objects,
      'user erased: events sent': userEvents,
      'rows deleted': Object.values(receipt.rowsDeleted).reduce((a, b) => a + b, 0),
      'rows deleted per table': Object.entries(receipt.rowsDeleted)
        .filter(([, n]) => n > 0)
        .map(([t, n]) => `${t} ${n}`)
        .join(', '),
      'objects read / rewritten': `${receipt.objects.objects} / ${receipt.objects.rewritten}`,
      'lines removed': receipt.objects.linesRemoved,
      'load (missing backfill): seconds': Number(loadSeconds.toFixed(1)),
      'forget dry run: seconds': Number(drySeconds.toFixed(1)),
      'forget: seconds': Number(forgetSeconds.toFixed(1)),
      'forget: of which Settle wait (real time), seconds': settle,
      'forget / load time': Number((forgetSeconds / loadSeconds).toFixed(2)),
    };
  } finally {
    await cloud.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The Settle wait the synthesized stack gives PlanForget (its SUPPRESSION_SETTLE_SECONDS). */
function settleSeconds(template: ReturnType<typeof synthesizeTemplate>): number {
  for (const r of Object.values(
    template.Resources as Record<string, { Type: string; Properties?: { Environment?: { Variables?: Record<string, string> } } }>,
  )) {
    const v = r.Properties?.Environment?.Variables?.SUPPRESSION_SETTLE_SECONDS;
    if (r.Type === 'AWS::Lambda::Function' && v) return Number(v);
  }
  return 0;
}
