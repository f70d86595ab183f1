import { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';
import { isoDateTime } from '../core/backfill';
import { InvalidInputError } from '../core/errors';
import { layout } from '../core/layout';
import { loaderContext } from '../io/context';
import { verifySource } from '../io/verification';

const logger = new Logger({ serviceName: 'verify-hours' });

const DAY = 86_400_000;
/** Mismatched hours carried in the state output (the full report is in S3). */
const MAX_LISTED_HOURS = 48;

const RequestSchema = z.object({
  source: z.string({ error: 'source must name a source' }).min(1),
  from: isoDateTime('from must be an ISO-8601 date-time').optional(),
  to: isoDateTime('to must be an ISO-8601 date-time').optional(),
});

export interface VerifyHoursOutput {
  readonly source: string;
  readonly from: string;
  readonly to: string;
  readonly ok: boolean;
  readonly reportKey: string;
  readonly totals: Record<string, number | boolean>;
  readonly mismatched: Array<{ hour: string; problems: string[] }>;
  readonly message: string;
}

/**
 * VerifyHours (the scheduled verification): accepted = loaded + discarded for every hour of a
 * source, by default the previous UTC day. Writes the full report to the staged bucket; the
 * workflow fails (and the alarm fires) when any hour does not add up.
 */
export async function handler(event: { request: unknown; executionName?: string }): Promise<VerifyHoursOutput> {
  const { config, objects, warehouse } = loaderContext();
  const parsed = RequestSchema.safeParse(event.request);
  if (!parsed.success)
    throw new InvalidInputError(`Invalid verification input: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')}`);
  const req = parsed.data;
  if (!config.SOURCES.some((s) => s.name === req.source))
    throw new InvalidInputError(`Unknown source "${req.source}": configured sources are ${config.SOURCES.map((s) => s.name).join(', ')}`);
  const today = Math.floor(Date.now() / DAY) * DAY;
  const to = req.to ? new Date(req.to) : new Date(today);
  const from = req.from ? new Date(req.from) : new Date(to.getTime() - DAY);
  if (from >= to) throw new InvalidInputError(`"from" (${from.toISOString()}) must be before "to" (${to.toISOString()})`);

  const report = await verifySource({ objects, warehouse, rawBucket: config.RAW_BUCKET, quarantinePrefix: config.QUARANTINE_PREFIX }, req.source, from, to);
  const reportKey = layout.verification(req.source, report.from, report.to, event.executionName);
  await objects.putJson(config.STAGED_BUCKET, reportKey, report);
  const bad = report.hours.filter((h) => !h.ok);
  const message = report.ok
    ? `All ${report.totals.hours} hours of ${req.source} add up: ${report.totals.accepted} accepted = ${report.totals.loaded} loaded + ${report.totals.discarded} discarded`
    : `${bad.length} hour(s) of ${req.source} do not add up, first ${bad[0].hour}: ${bad[0].problems.join('; ')}. Repair: npx clickstream verify --source ${req.source} --from ${report.from} --to ${report.to} --repair`;
  logger.info('verified', { source: req.source, from: report.from, to: report.to, ok: report.ok, mismatched: bad.length, reportKey });
  return {
    source: req.source,
    from: report.from,
    to: report.to,
    ok: report.ok,
    reportKey,
    totals: report.totals,
    mismatched: bad.slice(0, MAX_LISTED_HOURS).map((h) => ({ hour: h.hour, problems: h.problems })),
    message,
  };
}
