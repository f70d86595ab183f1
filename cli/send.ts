import { Analytics } from '@segment/analytics-node';
import { bar, fmt, progressLine } from './format';
import { generateEvents } from './traffic';
import { sourceOf, type Target, UsageError } from './target';
import { SEND_HELP } from './help';

export { SEND_HELP };

export interface SendOptions {
  readonly source?: string;
  readonly events?: string;
  readonly rate?: string;
  readonly duplicates?: string;
  readonly skew?: string;
  readonly seed?: string;
  readonly writeKey?: string;
  readonly json?: boolean;
}

function numberOption(name: string, value: string | undefined, fallback: number, check: (n: number) => boolean, what: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || !check(n)) throw new UsageError(`--${name} must be ${what}, not "${value}"`);
  return n;
}

type Call = 'track' | 'page' | 'screen' | 'identify' | 'group' | 'alias';

export async function runSend(
  target: Target,
  options: SendOptions,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const source = sourceOf(target, options.source, SEND_HELP);
  const events = numberOption('events', options.events, NaN, (n) => Number.isInteger(n) && n > 0, 'a whole number of at least 1');
  if (Number.isNaN(events)) throw new UsageError(`--events is required\n\n${SEND_HELP}`);
  const rate = numberOption('rate', options.rate, 0, (n) => n > 0, 'a number of events per second above 0');
  const duplicates = numberOption('duplicates', options.duplicates, 0.05, (n) => n >= 0 && n <= 1, 'a share between 0 and 1');
  const skewMs = numberOption('skew', options.skew, 120, (n) => n >= 0, 'a number of seconds') * 1000;
  const seed = numberOption('seed', options.seed, Math.floor(Math.random() * 1e9), (n) => Number.isInteger(n) && n >= 0, 'a whole number');
  const writeKey = options.writeKey ?? source.writeKeys?.[0];
  if (!writeKey) throw new UsageError(`Give the write key of source "${source.name}" with --write-key (a deployed stack does not publish it)`);
  if (!target.collector) throw new UsageError('This stack does not publish its collector URL (output CollectorUrl): deploy the current version');

  const analytics = new Analytics({ writeKey, host: target.collector, flushAt: 100, flushInterval: 200, maxRetries: 5 });
  let failed = 0;
  let lastError = '';
  analytics.on('error', (e: unknown) => {
    failed++;
    lastError = String((e as { reason?: unknown }).reason ?? (e as Error).message ?? e);
  });
  const line = progressLine(err, options.json);
  const started = Date.now();
  let sent = 0;
  let repeated = 0;
  const ids = new Set<string>();
  const progress = (final = false) => {
    const seconds = (Date.now() - started) / 1000;
    line(`${bar(sent, events)} ${fmt(sent)}/${fmt(events)} events, ${fmt(Math.round(sent / Math.max(seconds, 0.001)))} events/s, ${failed} failed`, final);
  };

  for (const msg of generateEvents(events, { seed, duplicates, skewMs, spanMs: 60_000, idPrefix: `send-${seed}` })) {
    const { type, ...fields } = msg as { type: Call; messageId: string } & Record<string, unknown>;
    if (ids.has(fields.messageId)) repeated++;
    else ids.add(fields.messageId);
    const params = { ...fields, timestamp: new Date(String(fields.timestamp)) } as never;
    analytics[type](params);
    sent++;
    if (sent % 100 === 0) {
      progress();
      // Let the client's queue drain; with --rate, hold to the rate.
      const due = rate > 0 ? started + (sent / rate) * 1000 : Date.now();
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
    }
  }
  await analytics.closeAndFlush({ timeout: 120_000 });
  progress(true);
  const seconds = (Date.now() - started) / 1000;
  const result = {
    source: source.name,
    collector: target.collector,
    events: sent,
    distinctMessages: ids.size,
    duplicates: repeated,
    failed,
    seconds: Math.round(seconds * 10) / 10,
    eventsPerSecond: Math.round(sent / Math.max(seconds, 0.001)),
    seed,
  };
  if (options.json) out.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    out.write(
      `Sent ${fmt(sent)} events (${fmt(ids.size)} distinct messages, ${fmt(repeated)} repeats) to ${target.collector} in ${result.seconds} s (${fmt(result.eventsPerSecond)} events/s); ${failed} not acknowledged.\n`,
    );
    if (failed > 0) out.write(`Last error: ${lastError}\n`);
  }
  return failed > 0 ? 3 : 0;
}
