import { SFNClient } from '@aws-sdk/client-sfn';
import { failureMessage, runExecution } from '../lambdas/io/executions';
import type { LoadSummary } from '../lambdas/core/loadTypes';
import { fmt, progressLine, table } from './format';
import { clientConfig, dateOption, type Target, UsageError } from './target';
import { LOAD_HELP } from './help';

export { LOAD_HELP };

export interface LoadOptions {
  readonly source?: string;
  readonly dryRun?: boolean;
  readonly from?: string;
  readonly to?: string;
  readonly json?: boolean;
}

export async function runLoad(
  target: Target,
  options: LoadOptions,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  if (!options.source) throw new UsageError(`--source is required\n\n${LOAD_HELP}`);
  if ((options.from === undefined) !== (options.to === undefined))
    throw new UsageError('Give both --from and --to (a reload of that range), or neither (what is pending)');
  const window =
    options.from !== undefined ? { from: dateOption('from', options.from).toISOString(), to: dateOption('to', options.to).toISOString() } : undefined;
  const input = { source: options.source, ...(window ? { window, mode: 'reload' } : {}), ...(options.dryRun ? { dryRun: true } : {}) };
  const sfn = new SFNClient(clientConfig(target));
  try {
    const progress = progressLine(err, options.json);
    const d = await runExecution(sfn, target.stateMachines.load, input, {
      onPoll: (x, ms) => progress(`load of ${options.source}: ${x.status} (${Math.round(ms / 1000)} s)`, x.status !== 'RUNNING'),
    });
    if (d.status !== 'SUCCEEDED') {
      err.write(`load ${d.status}: ${failureMessage(d)}\n  execution: ${d.executionArn}\n`);
      return d.error === 'InvalidInputError' ? 2 : 3;
    }
    const summary = JSON.parse(d.output ?? '{}') as LoadSummary;
    if (options.json) out.write(`${JSON.stringify(summary, null, 2)}\n`);
    else printSummary(summary, out);
    return 0;
  } finally {
    sfn.destroy();
  }
}

function printSummary(s: LoadSummary, out: NodeJS.WritableStream): void {
  if (s.status === 'EMPTY') {
    out.write(`Nothing to load for ${s.source}: no pending raw objects.\n`);
    return;
  }
  if (s.status === 'SKIPPED') {
    out.write(`Skipped: a load of ${s.source} is running (${s.runningLoad}); it takes the pending objects. Run again when it has ended.\n`);
    return;
  }
  out.write(
    `Load ${s.loadId} of ${s.source}: ${s.status}${s.dryRun ? ' (test run: nothing was written)' : ''} — ${fmt(s.objects)} objects, ${fmt(s.events)} events (${fmt(s.eventsDiscarded)} discarded whole), ${fmt(s.valuesDiscarded)} values discarded, ${fmt(s.rowsDiscarded)} rows in _discards, ${(s.durationMs / 1000).toFixed(1)} s\n`,
  );
  out.write(
    `${table([
      ['table', 'rows', 'changed', 'values discarded', 'new columns'],
      ...s.tables.map((t) => [t.table, fmt(t.rows), t.changed === undefined ? '-' : fmt(t.changed), fmt(t.valuesDiscarded), fmt(t.newColumns)]),
    ])}\n`,
  );
  if (s.ddl.length > 0) out.write(`\nSchema changes${s.dryRun ? ' it would make' : ''}:\n${s.ddl.map((d) => `  ${d}`).join('\n')}\n`);
  if (s.more) out.write('\nMore raw objects wait than one load takes: run it again, or let the schedule catch up.\n');
}
