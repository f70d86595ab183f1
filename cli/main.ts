import { parseArgs } from 'node:util';
import { BACKFILL_HELP, checkBackfillOptions, runBackfill } from './backfill';
import { runSql, SQL_HELP } from './sql';
import { deployedTarget, localTarget, type Target, UsageError } from './target';

const HELP = `Usage: npx clickstream <command> [options]

Commands:
  backfill   reload or fill a time range, with progress and a summary
  sql        run one statement through the Data API and print the result

Every command talks to the local stack (--data-dir DIR, default .clickstream) or to a deployed
environment (--env NAME: the outputs of stack Clickstream-NAME, standard AWS credentials).
Run "npx clickstream <command> --help" for its options.`;

async function target(values: { env?: string; 'data-dir'?: string }): Promise<Target> {
  return values.env ? deployedTarget(values.env) : localTarget(values['data-dir'] ?? '.clickstream');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h') {
    console.log(HELP);
    return command ? 0 : 2;
  }
  switch (command) {
    case 'backfill': {
      const { values } = parseArgs({
        args: rest,
        options: {
          source: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, windows: { type: 'string' }, mode: { type: 'string' },
          'dry-run': { type: 'boolean' }, 'max-concurrency': { type: 'string' }, json: { type: 'boolean' },
          env: { type: 'string' }, 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' },
        },
        strict: true,
      });
      if (values.help) {
        console.log(BACKFILL_HELP);
        return 0;
      }
      const options = {
        source: values.source, from: values.from, to: values.to, windows: values.windows, mode: values.mode, dryRun: values['dry-run'], json: values.json,
        maxConcurrency: values['max-concurrency'] === undefined ? undefined : Number(values['max-concurrency']),
      };
      checkBackfillOptions(options);
      return runBackfill(await target(values), options);
    }
    case 'sql': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { json: { type: 'boolean' }, env: { type: 'string' }, 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
        allowPositionals: true,
        strict: true,
      });
      if (values.help) {
        console.log(SQL_HELP);
        return 0;
      }
      if (positionals.length !== 1 || !positionals[0].trim()) throw new UsageError(`Give exactly one statement, quoted\n\n${SQL_HELP}`);
      return runSql(await target(values), positionals[0], Boolean(values.json));
    }
    default:
      throw new UsageError(`Unknown command "${command}"\n\n${HELP}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    if (e instanceof UsageError || (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(e.message);
      process.exit(2);
    }
    console.error(e.stack ?? String(e));
    process.exit(1);
  },
);
