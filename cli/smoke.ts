import { randomUUID } from 'node:crypto';
import { SFNClient } from '@aws-sdk/client-sfn';
import { QUARANTINE_PREFIX } from '../lambdas/core/layout';
import { quoteIdent, schemaName } from '../lambdas/core/naming';
import { failureMessage, runExecution, waitForExecution } from '../lambdas/io/executions';
import { listHours, verifySource } from '../lambdas/io/verification';
import { clientConfig, sourceOf, type Target, targetIo, UsageError } from './target';
import { SMOKE_HELP } from './help';

export { SMOKE_HELP };

export interface SmokeOptions {
  readonly source?: string;
  readonly writeKey?: string;
  readonly origin?: string;
  readonly deliveryTimeout?: string;
  readonly json?: boolean;
}

export interface SmokeStep {
  readonly step: string;
  readonly ok: boolean | null;
  readonly seconds: number;
  readonly detail: string;
  readonly cause?: string;
  readonly fix?: string;
}

/** A failed step: what happened, the likely cause, the fix. */
class StepFailure extends Error {
  constructor(
    message: string,
    public readonly cause: string,
    public readonly fix: string,
  ) {
    super(message);
    this.name = 'StepFailure';
  }
}

type StepName = 'preflight' | 'settings' | 'send' | 'retry' | 'delivery' | 'load' | 'rows' | 'verify';
const SMOKE_EVENT = 'Clickstream Smoke Test';

export async function runSmoke(target: Target, options: SmokeOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const source = pickSource(target, options.source);
  const writeKey = options.writeKey ?? source.writeKeys?.[0];
  if (!writeKey)
    throw new UsageError(`--write-key is required for a deployed environment (one of source "${source.name}"'s keys from cdk.json)\n\n${SMOKE_HELP}`);
  if (!target.collector) throw new UsageError('This target does not name its collector URL');
  const timeoutSeconds = Number(options.deliveryTimeout ?? 180);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0)
    throw new UsageError(`--delivery-timeout must be a number of seconds, not "${options.deliveryTimeout}"`);
  const origin = options.origin ?? 'https://smoke-test.invalid';
  const collector = target.collector.replace(/\/$/, '');
  const run = `${new Date().toISOString().slice(0, 16).replace(/[-:T]/g, '')}-${randomUUID().slice(0, 8)}`;
  const ids = { track: `smoke-${run}-track`, page: `smoke-${run}-page`, identify: `smoke-${run}-identify` };
  const started = new Date();
  const auth = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
  const context = { library: { name: 'clickstream-smoke', version: '1' }, smoke: { run } };
  const messages = {
    t: { type: 'track', event: SMOKE_EVENT, userId: `smoke-user-${run}`, messageId: ids.track, properties: { smoke_run: run }, context },
    p: { type: 'page', name: 'Clickstream Smoke Page', userId: `smoke-user-${run}`, messageId: ids.page, context },
    i: { type: 'identify', userId: `smoke-user-${run}`, messageId: ids.identify, traits: { smoke_run: run }, context },
  };
  const post = (path: string, body: unknown, extra: Record<string, string> = {}) =>
    fetch(`${collector}/v1/${path}`, {
      method: 'POST',
      headers: { origin, authorization: auth, 'content-type': 'text/plain', ...extra },
      body: JSON.stringify({ ...(body as object), sentAt: new Date().toISOString() }),
    });

  const steps: SmokeStep[] = [];
  const print = (s: SmokeStep) => {
    if (options.json) return;
    const mark = s.ok === null ? '-' : s.ok ? '✓' : '✗';
    out.write(`${mark} ${s.step.padEnd(9)} ${s.ok === null ? '' : `${s.seconds.toFixed(2).padStart(7)} s  `}${s.detail}\n`);
    if (s.cause) out.write(`    likely cause: ${s.cause}\n    fix: ${s.fix}\n`);
  };
  const io = targetIo(target);
  const sfn = new SFNClient(clientConfig(target));
  let failed = false;
  const step = async (name: StepName, fn: () => Promise<string>) => {
    if (failed) {
      const s = { step: name, ok: null, seconds: 0, detail: 'skipped (an earlier step failed)' };
      steps.push(s);
      print(s);
      return;
    }
    const t0 = Date.now();
    let s: SmokeStep;
    try {
      s = { step: name, ok: true, seconds: (Date.now() - t0) / 1000, detail: await fn() };
      s = { ...s, seconds: (Date.now() - t0) / 1000 };
    } catch (e) {
      failed = true;
      const f =
        e instanceof StepFailure
          ? e
          : new StepFailure((e as Error).message, 'an unexpected error (see the message)', 'run the step again; if it persists, report it with this output');
      s = { step: name, ok: false, seconds: (Date.now() - t0) / 1000, detail: f.message, cause: f.cause, fix: f.fix };
    }
    steps.push(s);
    print(s);
  };

  if (!options.json) out.write(`Smoke test of source ${source.name} through ${collector} (run ${run})\n`);
  try {
    await step('preflight', async () => {
      const res = await fetch(`${collector}/v1/t`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-retry-count' },
      }).catch(unreachable(collector));
      const allowOrigin = res.headers.get('access-control-allow-origin');
      const allowHeaders = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
      if (res.status >= 300 || (allowOrigin !== '*' && allowOrigin !== origin)) {
        throw new StepFailure(
          `the CORS preflight from ${origin} was answered ${res.status} without allowing that origin`,
          "the origin is not in the environment's collector.allowedOrigins",
          "pass --origin with one of collector.allowedOrigins, or add the site's origin there and deploy",
        );
      }
      const missing = ['authorization', 'content-type', 'x-retry-count'].filter((h) => !allowHeaders.split(/\s*,\s*/).includes(h) && allowHeaders !== '*');
      if (missing.length > 0)
        throw new StepFailure(
          `CORS does not allow the header${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
          "the stack predates the collector's CORS fix (analytics.js retries with X-Retry-Count)",
          'deploy the current version of the stack',
        );
      return `CORS allows ${origin} with authorization, content-type, x-retry-count`;
    });
    await step('settings', async () => {
      const res = await fetch(`${collector}/v1/projects/${encodeURIComponent(writeKey)}/settings`, { headers: { origin } });
      if (res.status === 404)
        throw new StepFailure(
          'the collector does not know this write key',
          "the write key is not one of the source's keys in cdk.json (or not deployed yet)",
          'pass --write-key with a key of this source, or add it to cdk.json and deploy',
        );
      if (res.status !== 200)
        throw new StepFailure(`settings answered ${res.status}`, 'the collector function failed', "look at the collector function's log group");
      const apiHost = ((await res.json()) as { integrations?: Record<string, { apiHost?: string }> }).integrations?.['Segment.io']?.apiHost;
      return `analytics.js settings point at ${apiHost}`;
    });
    await step('send', async () => {
      for (const [path, body] of Object.entries(messages)) {
        const res = await post(path, body);
        if (res.status !== 200) throw sendFailure(path, res.status, await res.text());
      }
      return `3 events (track, page, identify) accepted, as analytics.js sends them (text/plain, Basic auth, Origin ${origin})`;
    });
    await step('retry', async () => {
      const res = await post('t', messages.t, { 'x-retry-count': '1' });
      if (res.status !== 200) throw sendFailure('t', res.status, await res.text());
      return 'the track event again with X-Retry-Count: 1 (same messageId: it must load once)';
    });
    await step('delivery', async () => {
      const deadline = Date.now() + timeoutSeconds * 1000;
      const want = new Set(Object.values(ids));
      const seen = new Set<string>();
      const read = new Set<string>();
      for (;;) {
        const from = new Date((Math.floor(started.getTime() / 3_600_000) - 1) * 3_600_000);
        const to = new Date((Math.floor(Date.now() / 3_600_000) + 1) * 3_600_000);
        for (const o of await listHours(io.objects, target.buckets.raw, source.name, from, to)) {
          if (read.has(o.key)) continue;
          read.add(o.key);
          const text = (await io.objects.getGunzipped(target.buckets.raw, o.key)).toString('utf8');
          for (const id of want) if (text.includes(`"${id}"`)) seen.add(id);
        }
        if (seen.size === want.size) return `all 3 events are in the raw bucket (${read.size} object${read.size === 1 ? '' : 's'} read)`;
        if (Date.now() > deadline) {
          throw new StepFailure(
            `after ${timeoutSeconds} s, ${want.size - seen.size} of 3 events are not in s3://${target.buckets.raw}/${source.name}/`,
            'Firehose has not flushed its buffer yet, or cannot write to the raw bucket',
            `wait longer (--delivery-timeout above the source's buffer interval); check the DeliveryErrors-${source.name} alarm and the stream's error log group`,
          );
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    });
    await step('load', async () => {
      let d = await runExecution(sfn, target.stateMachines.load, { source: source.name }, { timeoutMs: 15 * 60_000 });
      let summary = JSON.parse(d.output ?? '{}') as { status?: string; rowsLoaded?: number; runningLoad?: string };
      // A scheduled load was running: it may have taken the events or not; after it, load once more.
      for (let waited = 0; d.status === 'SUCCEEDED' && summary.status === 'SKIPPED' && summary.runningLoad && waited < 3; waited++) {
        await waitForExecution(sfn, summary.runningLoad, { timeoutMs: 15 * 60_000 });
        d = await runExecution(sfn, target.stateMachines.load, { source: source.name }, { timeoutMs: 15 * 60_000 });
        summary = JSON.parse(d.output ?? '{}') as typeof summary;
      }
      if (d.status !== 'SUCCEEDED') {
        throw new StepFailure(
          `the load ${d.status}: ${failureMessage(d)}`,
          loadCause(failureMessage(d)),
          `open the execution in the Step Functions console (${d.executionArn}); fix the cause, then run smoke again`,
        );
      }
      return `load ${summary.status === 'EMPTY' ? 'found nothing pending (a scheduled load took the events first)' : `succeeded: ${summary.rowsLoaded ?? 0} rows`}`;
    });
    await step('rows', async () => {
      const schema = quoteIdent(schemaName(source.name));
      const counts = await io.warehouse
        .query(
          ['tracks', 'pages', 'identifies']
            .map((t, i) => `SELECT '${t}' AS t, COUNT(*) AS n FROM ${schema}.${quoteIdent(t)} WHERE id = :id${i}`)
            .join(' UNION ALL '),
          { id0: ids.track, id1: ids.page, id2: ids.identify },
          'smoke rows',
        )
        .catch((e: Error) => {
          throw new StepFailure(
            `the query failed: ${e.message}`,
            "your own database user cannot read the loader's tables (permission denied), or the schema was never created",
            'grant read access as docs/deploy.md, "Warehouse identity" shows for operators; or look at the load step',
          );
        });
      const bad = counts.filter((r) => Number(r.n) !== 1);
      if (bad.length > 0)
        throw new StepFailure(
          `expected each event once, found ${counts.map((r) => `${r.t} ${r.n}`).join(', ')}`,
          'the load did not take the delivered objects, or deduplication failed',
          `run "npx clickstream verify --source ${source.name}" and look at the load's summary`,
        );
      return 'each event is in the warehouse exactly once (tracks, pages, identifies)';
    });
    await step('verify', async () => {
      const from = new Date(Math.floor(started.getTime() / 3_600_000) * 3_600_000);
      const to = new Date(Math.ceil((Date.now() + 1) / 3_600_000) * 3_600_000);
      const report = await verifySource(
        { objects: io.objects, warehouse: io.warehouse, rawBucket: target.buckets.raw, quarantinePrefix: QUARANTINE_PREFIX },
        source.name,
        from,
        to,
      );
      if (!report.ok) {
        const problems = report.hours
          .filter((h) => !h.ok)
          .map((h) => `${h.hour}: ${h.problems.join('; ')}`)
          .join(' | ');
        throw new StepFailure(
          `accepted ≠ loaded + discarded: ${problems}`,
          'objects of this hour are not loaded yet (other traffic), or a load lost messages',
          `npx clickstream verify --source ${source.name} --repair`,
        );
      }
      return `accepted = loaded + discarded for ${report.totals.hours} hour${report.totals.hours === 1 ? '' : 's'} (${report.totals.accepted} accepted)`;
    });
  } finally {
    io.close();
    sfn.destroy();
  }
  const ok = steps.every((s) => s.ok === true);
  if (options.json) out.write(`${JSON.stringify({ ok, source: source.name, run, messageIds: Object.values(ids), steps }, null, 2)}\n`);
  else out.write(ok ? `\nSmoke test passed in ${steps.reduce((n, s) => n + s.seconds, 0).toFixed(1)} s.\n` : '\nSmoke test FAILED.\n');
  return ok ? 0 : 3;
}

function pickSource(target: Target, name: string | undefined) {
  if (name) {
    const s = sourceOf(target, name, SMOKE_HELP);
    if (s.load === false || s.dryRun) throw new UsageError(`Source "${name}" is not loaded (load flag off or dryRun): smoke needs a source whose loads write`);
    return s;
  }
  const s = target.sources.find((x) => x.load !== false && !x.dryRun && x.collect !== false);
  if (!s) throw new UsageError('No source collects and loads: smoke needs one (flags collect and load on, dryRun off)');
  return s;
}

function unreachable(url: string) {
  return (e: Error): never => {
    throw new StepFailure(
      `cannot reach ${url}: ${e.message}`,
      'the stack is not running (local), or the URL is wrong',
      'start the local stack with "npm start", or check the CollectorUrl output of the stack',
    );
  };
}

function sendFailure(path: string, status: number, body: string): StepFailure {
  const fixes: Record<number, [string, string]> = {
    401: ["the write key is not one of this source's keys", 'pass --write-key with a key of the source from cdk.json'],
    403: ['collection is turned off for the source (its collect flag)', 'set "collect": true for the source and deploy'],
    503: [
      "Firehose did not accept the events (throttling, or the stream's role)",
      'retry in a minute; if it persists, check the stream in the Firehose console',
    ],
  };
  const [cause, fix] = fixes[status] ?? ['the collector function failed', "look at the collector function's log group"];
  return new StepFailure(`/v1/${path} answered ${status}: ${body.slice(0, 200)}`, cause, fix);
}

function loadCause(message: string): string {
  if (/AccessDenied|not authorized/i.test(message)) return "a function's role lacks a permission (IAM), or the database user lacks a privilege";
  if (/permission denied|must be owner/i.test(message)) return 'the loaders\' database user lacks a privilege (see docs/deploy.md, "Warehouse identity")';
  if (/Lambda\.Unknown|timed out/i.test(message)) return 'a function timed out or crashed';
  return 'see the message: the failed step and its error are in it';
}
