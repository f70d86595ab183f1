import * as fs from 'node:fs';
import * as path from 'node:path';
import { table } from './format';
import { type CostEstimate, type CostInput, type CostProfile, estimateCost } from './costModel';
import { bufferSecondsFor, FIREHOSE_DEFAULTS } from '../lib/config/buffering';
import { UsageError } from './target';
import { COST_HELP } from './help';

export { COST_HELP };

export const PROFILE_PATH = path.join(__dirname, 'cost-profile.json');

export interface CostOptions {
  readonly eventsPerDay?: string;
  readonly eventsPerRequest?: string;
  readonly avgBytes?: string;
  readonly sources?: string;
  readonly loadInterval?: string;
  readonly endpoint?: string;
  readonly firehoseBuffer?: string;
  readonly rawRetentionDays?: string;
  readonly rpu?: string;
  readonly collectorTracing?: boolean;
  readonly json?: boolean;
}

function positive(name: string, value: string | undefined, fallback?: number): number {
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new UsageError(`--${name} is required\n\n${COST_HELP}`);
  }
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a number above 0, not "${value}"`);
  return n;
}

export function costInput(o: CostOptions): CostInput {
  const endpoint = o.endpoint ?? 'function-url';
  if (endpoint !== 'function-url' && endpoint !== 'http-api') throw new UsageError(`--endpoint must be function-url or http-api, not "${endpoint}"`);
  return {
    eventsPerDay: positive('events-per-day', o.eventsPerDay),
    eventsPerRequest: positive('events-per-request', o.eventsPerRequest, 1),
    avgBytes: o.avgBytes === undefined ? undefined : positive('avg-bytes', o.avgBytes),
    sources: Math.round(positive('sources', o.sources, 1)),
    loadIntervalSeconds: positive('load-interval', o.loadInterval, 300),
    endpoint,
    // As the stack sets it: 60 s, but at most a quarter of the load interval.
    firehoseBufferSeconds:
      o.firehoseBuffer === undefined
        ? bufferSecondsFor(FIREHOSE_DEFAULTS.intervalSeconds, positive('load-interval', o.loadInterval, 300))
        : Number(o.firehoseBuffer),
    firehoseBufferMiB: 64,
    rawRetentionDays: positive('raw-retention-days', o.rawRetentionDays, 400),
    stagedRetentionDays: 7,
    warehouseRpu: positive('rpu', o.rpu, 8),
    collectorTracing: Boolean(o.collectorTracing),
  };
}

export function loadProfile(file = PROFILE_PATH): CostProfile {
  if (!fs.existsSync(file)) throw new Error(`No measured profile at ${file}: run "npm run bench -- cost" first`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as CostProfile;
}

const usd = (n: number) => (n >= 100 ? `$${Math.round(n).toLocaleString('en-US')}` : n >= 1 ? `$${n.toFixed(2)}` : `$${n.toFixed(4)}`);

export function runCost(options: CostOptions, out: NodeJS.WritableStream = process.stdout, profile = loadProfile()): number {
  const input = costInput(options);
  const estimate = estimateCost(profile, input);
  // The same traffic with the other endpoint, and with one event per request: the choices that matter most.
  const variants: Array<{ endpoint: CostInput['endpoint']; eventsPerRequest: number; usdPerMillionEvents: number }> = [];
  for (const endpoint of ['function-url', 'http-api'] as const) {
    for (const eventsPerRequest of [...new Set([1, input.eventsPerRequest])]) {
      variants.push({ endpoint, eventsPerRequest, usdPerMillionEvents: estimateCost(profile, { ...input, endpoint, eventsPerRequest }).usdPerMillionEvents });
    }
  }
  if (options.json) {
    out.write(`${JSON.stringify({ ...estimate, variants }, null, 2)}\n`);
    return 0;
  }
  printEstimate(estimate, out);
  out.write(`\nThe same traffic with another collector endpoint or batching (AWS spend outside the warehouse, per million events):\n`);
  out.write(
    `${table([['endpoint', 'events per request', '$ per million events'], ...variants.map((v) => [v.endpoint, v.eventsPerRequest, usd(v.usdPerMillionEvents)])])}\n`,
  );
  return 0;
}

function printEstimate(e: CostEstimate, out: NodeJS.WritableStream): void {
  const a = e.assumptions;
  out.write(
    `${Number(a.eventsPerDay).toLocaleString('en-US')} events/day, ${a.eventsPerRequest} per request, ${a.avgEventBytes} bytes each, ${a.sources} source(s), loads every ${a.loadIntervalSeconds} s, collector: ${a.collectorEndpoint}\n\n`,
  );
  out.write(
    `${table([
      ['component', '$ per day', '$ per million events', 'basis'],
      ...e.breakdown.map((l) => [l.component, usd(l.usdPerDay), usd(l.usdPerMillionEvents), l.basis]),
      ['total outside the warehouse', usd(e.usdPerDay), usd(e.usdPerMillionEvents), ''],
      [e.warehouse.component, usd(e.warehouse.usdPerDay), usd(e.warehouse.usdPerMillionEvents), e.warehouse.basis],
    ])}\n`,
  );
  out.write(
    `\nList prices ${a.region} as of ${a.pricesAsOf} (cli/prices.ts), free tiers not deducted; counts measured locally on ${a.profileMeasuredAt} (cli/cost-profile.json).\n`,
  );
}
