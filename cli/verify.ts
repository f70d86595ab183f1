import type { HourCheck, VerifyReport } from '../lambdas/core/verify';
import { verifySource } from '../lambdas/io/verification';
import { QUARANTINE_PREFIX } from '../lambdas/core/layout';
import { runBackfill } from './backfill';
import { fmt, nullStream, table } from './format';
import { dateOption, sourceOf, type Target, targetIo, UsageError } from './target';
import { VERIFY_HELP } from './help';

export { VERIFY_HELP };

export interface VerifyOptions {
  readonly source?: string;
  readonly from?: string;
  readonly to?: string;
  readonly repair?: boolean;
  readonly deep?: boolean;
  readonly json?: boolean;
}

const shortHour = (iso: string) => `${iso.slice(0, 13)}:00Z`;
/** An hour that has not ended yet: events may still arrive and loads may still be pending. */
const inFlight = (iso: string, now = Date.now()) => Date.parse(iso) + 3_600_000 > now;
const hourLabel = (iso: string) => `${shortHour(iso)}${inFlight(iso) ? ' (in flight)' : ''}`;

export function verifyRange(options: VerifyOptions, now = new Date()): { from: Date; to: Date } {
  const to = dateOption('to', options.to, new Date((Math.floor(now.getTime() / 3_600_000) + 1) * 3_600_000));
  const from = dateOption('from', options.from, new Date(to.getTime() - 24 * 3_600_000));
  if (from >= to) throw new UsageError(`--from (${from.toISOString()}) must be before --to (${to.toISOString()})`);
  return { from, to };
}

function printReport(r: VerifyReport, out: NodeJS.WritableStream): void {
  const t = r.totals;
  const row = (h: Pick<HourCheck, 'accepted' | 'quarantined' | 'loaded' | 'discarded' | 'erased' | 'duplicates'>) => [
    fmt(h.accepted),
    fmt(h.quarantined),
    fmt(h.loaded),
    fmt(h.discarded),
    fmt(h.erased),
    fmt(h.duplicates),
  ];
  out.write(
    `Source ${r.source}, ${shortHour(r.from)} to ${shortHour(r.to)}: ${t.hours} hour${t.hours === 1 ? '' : 's'} with data, ${t.hours - t.mismatched} add up, ${t.mismatched} do${t.mismatched === 1 ? 'es' : ''} not.\n`,
  );
  out.write(
    `${table([
      ['', 'accepted', 'quarantined', 'loaded', 'discarded', 'erased', 'duplicates'],
      ['total', ...row(t)],
    ])}\n`,
  );
  const bad = r.hours.filter((h) => !h.ok);
  if (bad.length > 0) {
    out.write(`\nHours that do not add up (accepted ≠ loaded + discarded + erased):\n`);
    out.write(
      `${table([['hour', 'accepted', 'quarantined', 'loaded', 'discarded', 'erased', 'duplicates', 'problem'], ...bad.map((h) => [hourLabel(h.hour), ...row(h), h.problems.join('; ')])])}\n`,
    );
    if (bad.some((h) => inFlight(h.hour))) out.write('Hours marked "in flight" have not ended: their objects may simply not be loaded yet.\n');
  }
}

export async function runVerify(
  target: Target,
  options: VerifyOptions,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const source = sourceOf(target, options.source, VERIFY_HELP).name;
  const { from, to } = verifyRange(options);
  const io = targetIo(target);
  const verify = () =>
    verifySource({ objects: io.objects, warehouse: io.warehouse, rawBucket: target.buckets.raw, quarantinePrefix: QUARANTINE_PREFIX }, source, from, to, {
      deep: options.deep,
    });
  try {
    let report = await verify();
    let repair: { windows: number; code: number } | undefined;
    if (options.repair && !report.ok) {
      const windows = report.hours
        .filter((h) => !h.ok)
        .map((h) => ({ source: report.source, from: h.hour, to: new Date(Date.parse(h.hour) + 3_600_000).toISOString() }));
      const mode = options.deep ? 'reload' : 'missing';
      if (!options.json) out.write(`Repairing ${windows.length} hour${windows.length === 1 ? '' : 's'} with a "${mode}" backfill…\n`);
      const code = await runBackfill(target, { windows: JSON.stringify(windows), mode, json: options.json }, options.json ? nullStream() : out, err);
      repair = { windows: windows.length, code };
      report = await verify();
      if (!options.json) out.write('\nAfter the repair:\n');
    }
    if (options.json) {
      const marked = { ...report, hours: report.hours.map((h) => (inFlight(h.hour) ? { ...h, inFlight: true } : h)) };
      out.write(`${JSON.stringify(repair ? { ...marked, repair } : marked, null, 2)}\n`);
    } else {
      printReport(report, out);
      if (!report.ok && !options.repair) {
        out.write(
          `\nRepair them: npx clickstream verify --source ${report.source} --from ${shortHour(report.from)} --to ${shortHour(report.to)}${options.deep ? ' --deep' : ''} --repair\n`,
        );
      }
    }
    return report.ok ? 0 : 3;
  } finally {
    io.close();
  }
}
