import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type BackfillSummary, checkBackfillRequest, type WindowResult } from '../lambdas/core/backfill';
import { InvalidInputError } from '../lambdas/core/errors';
import { backfillLayout } from '../lambdas/core/layout';
import { waitForExecution } from '../lambdas/io/executions';
import { bar, fmt, progressLine, table } from './format';
import { clientConfig, type Target, UsageError } from './target';
import { BACKFILL_HELP } from './help';

export { BACKFILL_HELP };

export interface BackfillOptions {
  readonly source?: string;
  readonly from?: string;
  readonly to?: string;
  /** Exactly these windows (JSON), as a summary's re-run input lists them. */
  readonly windows?: string;
  readonly mode?: string;
  readonly dryRun?: boolean;
  readonly maxConcurrency?: number;
  readonly json?: boolean;
}

export async function runBackfill(
  target: Target,
  options: BackfillOptions,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const source =
    options.source === undefined || options.source === '*'
      ? options.source
      : options.source.includes(',')
        ? options.source.split(',').map((s) => s.trim())
        : options.source;
  let windows: unknown;
  if (options.windows !== undefined) {
    try {
      windows = JSON.parse(options.windows);
    } catch {
      throw new UsageError('--windows must be JSON such as [{"source":"web","from":"2026-11-01T02:00Z","to":"2026-11-01T03:00Z"}]');
    }
  }
  const input = {
    ...(windows !== undefined ? { windows } : { source, from: options.from, to: options.to }),
    mode: options.mode ?? 'reload',
    dryRun: Boolean(options.dryRun),
    ...(options.maxConcurrency !== undefined ? { maxConcurrency: options.maxConcurrency } : {}),
  };
  // Bad input never starts an execution: the same check PlanBackfill makes, with the limits the target publishes.
  try {
    checkBackfillRequest(input, { sources: target.sources.map((x) => x.name), ...target.backfillLimits });
  } catch (e) {
    if (e instanceof InvalidInputError) throw new UsageError(e.message);
    throw e;
  }
  const config = clientConfig(target);
  const sfn = new SFNClient(config);
  const s3 = new S3Client(config);
  try {
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: target.stateMachines.backfill, input: JSON.stringify(input) }));
    const backfillId = (executionArn as string).split(':').pop() as string;
    const seen = new Map<string, WindowResult[]>();
    let planned: number | undefined;
    const progress = progressLine(err, options.json);
    const readJson = async <T>(key: string): Promise<T | undefined> => {
      try {
        const res = await s3.send(new GetObjectCommand({ Bucket: target.buckets.staged, Key: key }));
        return JSON.parse(await (res.Body as { transformToString(): Promise<string> }).transformToString()) as T;
      } catch {
        return undefined;
      }
    };
    // Progress from the windows' results as the batches write them.
    const d = await waitForExecution(sfn, executionArn as string, {
      timeoutMs: 7 * 24 * 3600_000,
      maxIntervalMs: 500,
      onPoll: async (poll, elapsedMs) => {
        planned ??= (await readJson<unknown[]>(backfillLayout.windows(backfillId)))?.length;
        const listed = await s3
          .send(new ListObjectsV2Command({ Bucket: target.buckets.staged, Prefix: backfillLayout.results(backfillId) }))
          .catch(() => undefined);
        for (const o of listed?.Contents ?? []) {
          if (!seen.has(o.Key as string)) {
            const results = await readJson<WindowResult[]>(o.Key as string);
            if (results) seen.set(o.Key as string, results);
          }
        }
        const results = [...seen.values()].flat();
        const failed = results.filter((r) => r.status === 'FAILED').length;
        const events = results.reduce((n, r) => n + Number(r.load?.output?.events ?? 0), 0);
        const seconds = elapsedMs / 1000;
        const rate = results.length / Math.max(seconds, 0.001);
        const eta = planned && rate > 0 ? Math.max(0, (planned - results.length) / rate) : undefined;
        progress(
          `${bar(results.length, planned ?? 0)} ${results.length}/${planned ?? '?'} windows, ${failed} failed, ${fmt(Math.round(events / Math.max(seconds, 0.001)))} events/s${eta !== undefined ? `, ETA ${Math.ceil(eta)} s` : ''}`,
          poll.status !== 'RUNNING',
        );
      },
    });
    return finish(d, await readJson<BackfillSummary>(backfillLayout.summary(backfillId)), options, out, err);
  } finally {
    sfn.destroy();
    s3.destroy();
  }
}

function finish(
  d: { status?: string; error?: string; cause?: string; output?: string },
  stored: BackfillSummary | undefined,
  options: BackfillOptions,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): number {
  const summary = stored ?? (d.output ? (JSON.parse(d.output) as BackfillSummary) : undefined);
  if (!summary) {
    // Rejected before it planned anything: the error says what to change.
    let message = d.cause ?? '';
    try {
      message = JSON.parse(message).errorMessage ?? message;
    } catch {
      // plain text
    }
    err.write(`backfill ${d.status}: ${d.error}: ${message}\n`);
    return d.error === 'InvalidInputError' ? 2 : 1;
  }
  if (options.json) out.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    const t = summary.totals;
    out.write(`\nBackfill ${summary.backfillId}: ${summary.status}${summary.dryRun ? ' (test run: nothing was written)' : ''}\n`);
    out.write(
      `${table([
        ['windows', 'succeeded', 'failed', 'not run', 'objects', 'events', 'rows loaded', 'rows discarded', 'seconds'],
        [t.windows, t.succeeded, t.failed, t.notRun, t.objects, t.events, t.rowsLoaded, t.rowsDiscarded, Math.round(t.durationMs / 1000)],
      ])}\n`,
    );
    const bad = summary.windows.filter((w) => w.status !== 'SUCCEEDED');
    if (bad.length) {
      out.write(
        `\nWindows that did not load:\n${table([['source', 'from', 'status', 'cause'], ...bad.map((w) => [w.source, w.from, w.status, (w.cause ?? '').slice(0, 120)])])}\n`,
      );
      out.write(
        `\nRe-run only them:\n  npx clickstream backfill --windows '${JSON.stringify(summary.rerunInput?.windows ?? [])}'${summary.dryRun ? ' --dry-run' : ''}\n  (console input: ${JSON.stringify(summary.rerunInput)})\n`,
      );
    }
  }
  return summary.status === 'SUCCEEDED' || summary.status === 'EMPTY' ? 0 : 3;
}

/** Throws a UsageError naming what is missing. */
export function checkBackfillOptions(o: BackfillOptions): void {
  if (o.mode === 'import')
    throw new UsageError(
      'To import a Segment archive use npx clickstream import --source NAME --archive s3://BUCKET/PREFIX/ --from ISO --to ISO (or the backfill workflow\'s "mode": "import" from the console)',
    );
  if (o.windows === undefined)
    for (const k of ['source', 'from', 'to'] as const) if (!o[k]) throw new UsageError(`--${k} is required (or --windows)\n\n${BACKFILL_HELP}`);
  if (o.maxConcurrency !== undefined && (!Number.isInteger(o.maxConcurrency) || o.maxConcurrency < 1))
    throw new UsageError('--max-concurrency must be a whole number of at least 1');
}
