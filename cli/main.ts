import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BACKFILL_HELP, COMPARE_HELP, COST_HELP, FORGET_HELP, IMPORT_HELP, LOAD_HELP, SEND_HELP, SMOKE_HELP, SQL_HELP, STATUS_HELP, VERIFY_HELP } from './help';
import type { Target } from './target';
import type * as backfillModule from './backfill';
import type * as compareModule from './compare';
import type * as costModule from './cost';
import type * as forgetModule from './forget';
import type * as importModule from './import';
import type * as loadModule from './load';
import type * as sendModule from './send';
import type * as smokeModule from './smoke';
import type * as sqlModule from './sql';
import type * as statusModule from './status';
import type * as targetModule from './target';
import type * as verifyModule from './verify';

/** A module loaded on first use (synchronously, as CommonJS: the CLI runs through tsx's require hook). */
function lazy<T>(id: string): Promise<T> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return Promise.resolve().then(() => require(id) as T);
}

// Each command's module (and the AWS SDK it needs) loads only when that command runs: `--help` is instant.
const load = {
  backfill: () => lazy<typeof backfillModule>('./backfill'),
  compare: () => lazy<typeof compareModule>('./compare'),
  cost: () => lazy<typeof costModule>('./cost'),
  forget: () => lazy<typeof forgetModule>('./forget'),
  import: () => lazy<typeof importModule>('./import'),
  load: () => lazy<typeof loadModule>('./load'),
  send: () => lazy<typeof sendModule>('./send'),
  smoke: () => lazy<typeof smokeModule>('./smoke'),
  sql: () => lazy<typeof sqlModule>('./sql'),
  status: () => lazy<typeof statusModule>('./status'),
  target: () => lazy<typeof targetModule>('./target'),
  verify: () => lazy<typeof verifyModule>('./verify'),
};

/** A UsageError of ./target, recognized without loading it. */
const usageError = (message: string) => Object.assign(new Error(message), { name: 'UsageError' });

const HELP = `Usage: npx clickstream <command> [options]

Commands:
  smoke      end-to-end check of a stack, the first thing to run after "cdk deploy"
  status     per source: flags, last load, lag, events loaded, failed loads, discards
  verify     prove accepted = loaded + discarded hour by hour; --repair fills the gaps
  load       start a load now and follow it to the end
  backfill   reload or fill a time range, with progress and a summary
  import     import history from Segment's S3 archive
  compare    compare our tables with the ones Segment loads, table by table and day by day
  forget     erase users everywhere and suppress them at the door (GDPR/CCPA requests)
  sql        run one statement through the Data API and print the result
  send       send synthetic Segment traffic through the collector API
  cost       estimate the AWS spend per million events for your traffic

Every command talks to the local stack (--data-dir DIR, default .clickstream) or to a deployed
environment (--env NAME: the outputs of stack Clickstream-NAME, standard AWS credentials).
Run "npx clickstream <command> --help" for its options.`;

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | undefined>;

const COMMON: Options = { json: { type: 'boolean' }, env: { type: 'string' }, 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } };
const str = { type: 'string' } as const;
const bool = { type: 'boolean' } as const;
const s = (v: Values, k: string) => v[k] as string | undefined;
const b = (v: Values, k: string) => Boolean(v[k]);

interface Command {
  readonly help: string;
  readonly options: Options;
  readonly positionals?: boolean;
  run(target: () => Promise<Target>, values: Values, positionals: string[]): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  smoke: {
    help: SMOKE_HELP,
    options: { source: str, 'write-key': str, origin: str, 'delivery-timeout': str },
    run: async (target, v) =>
      (await load.smoke()).runSmoke(await target(), {
        source: s(v, 'source'),
        writeKey: s(v, 'write-key'),
        origin: s(v, 'origin'),
        deliveryTimeout: s(v, 'delivery-timeout'),
        json: b(v, 'json'),
      }),
  },
  status: {
    help: STATUS_HELP,
    options: { source: str },
    run: async (target, v) => (await load.status()).runStatus(await target(), { source: s(v, 'source'), json: b(v, 'json') }),
  },
  verify: {
    help: VERIFY_HELP,
    options: { source: str, from: str, to: str, repair: bool, deep: bool },
    run: async (target, v) =>
      (await load.verify()).runVerify(await target(), {
        source: s(v, 'source'),
        from: s(v, 'from'),
        to: s(v, 'to'),
        repair: b(v, 'repair'),
        deep: b(v, 'deep'),
        json: b(v, 'json'),
      }),
  },
  load: {
    help: LOAD_HELP,
    options: { source: str, from: str, to: str, 'dry-run': bool },
    run: async (target, v) =>
      (await load.load()).runLoad(await target(), { source: s(v, 'source'), from: s(v, 'from'), to: s(v, 'to'), dryRun: b(v, 'dry-run'), json: b(v, 'json') }),
  },
  backfill: {
    help: BACKFILL_HELP,
    options: { source: str, from: str, to: str, windows: str, mode: str, 'dry-run': bool, 'max-concurrency': str },
    run: async (target, v) => {
      const maxConcurrency = s(v, 'max-concurrency');
      const options = {
        source: s(v, 'source'),
        from: s(v, 'from'),
        to: s(v, 'to'),
        windows: s(v, 'windows'),
        mode: s(v, 'mode'),
        dryRun: b(v, 'dry-run'),
        json: b(v, 'json'),
        maxConcurrency: maxConcurrency === undefined ? undefined : Number(maxConcurrency),
      };
      const backfill = await load.backfill();
      backfill.checkBackfillOptions(options);
      return backfill.runBackfill(await target(), options);
    },
  },
  import: {
    help: IMPORT_HELP,
    options: { source: str, archive: str, from: str, to: str, 'dry-run': bool, 'max-concurrency': str },
    run: async (target, v) => {
      const maxConcurrency = s(v, 'max-concurrency');
      return (await load.import()).runImport(await target(), {
        source: s(v, 'source'),
        archive: s(v, 'archive'),
        from: s(v, 'from'),
        to: s(v, 'to'),
        dryRun: b(v, 'dry-run'),
        json: b(v, 'json'),
        maxConcurrency: maxConcurrency === undefined ? undefined : Number(maxConcurrency),
      });
    },
  },
  compare: {
    help: COMPARE_HELP,
    options: { source: str, with: str, from: str, to: str, ignore: str },
    run: async (target, v) =>
      (await load.compare()).runCompare(await target(), {
        source: s(v, 'source'),
        with: s(v, 'with'),
        from: s(v, 'from'),
        to: s(v, 'to'),
        ignore: s(v, 'ignore'),
        json: b(v, 'json'),
      }),
  },
  forget: {
    help: FORGET_HELP,
    options: {
      source: str,
      'user-id': { type: 'string', multiple: true },
      'anonymous-id': { type: 'string', multiple: true },
      file: str,
      'dry-run': bool,
      list: bool,
      unsuppress: bool,
    },
    run: async (target, v) => {
      const many = (k: string) => ((v as Record<string, unknown>)[k] as string[] | undefined) ?? [];
      return (await load.forget()).runForget(await target(), {
        source: s(v, 'source'),
        userIds: many('user-id'),
        anonymousIds: many('anonymous-id'),
        file: s(v, 'file'),
        dryRun: b(v, 'dry-run'),
        list: b(v, 'list'),
        unsuppress: b(v, 'unsuppress'),
        json: b(v, 'json'),
      });
    },
  },
  sql: {
    help: SQL_HELP,
    options: {},
    positionals: true,
    run: async (target, v, positionals) => {
      if (positionals.length !== 1 || !positionals[0].trim()) throw usageError(`Give exactly one statement, quoted\n\n${SQL_HELP}`);
      return (await load.sql()).runSql(await target(), positionals[0], b(v, 'json'));
    },
  },
  send: {
    help: SEND_HELP,
    options: { source: str, events: str, rate: str, duplicates: str, skew: str, seed: str, 'write-key': str },
    run: async (target, v) =>
      (await load.send()).runSend(await target(), {
        source: s(v, 'source'),
        events: s(v, 'events'),
        rate: s(v, 'rate'),
        duplicates: s(v, 'duplicates'),
        skew: s(v, 'skew'),
        seed: s(v, 'seed'),
        writeKey: s(v, 'write-key'),
        json: b(v, 'json'),
      }),
  },
  cost: {
    help: COST_HELP,
    options: {
      'events-per-day': str,
      'events-per-request': str,
      'avg-bytes': str,
      sources: str,
      'load-interval': str,
      endpoint: str,
      'firehose-buffer': str,
      'raw-retention-days': str,
      rpu: str,
      'collector-tracing': bool,
    },
    // A model: it needs no stack.
    run: async (_target, v) =>
      (await load.cost()).runCost({
        eventsPerDay: s(v, 'events-per-day'),
        eventsPerRequest: s(v, 'events-per-request'),
        avgBytes: s(v, 'avg-bytes'),
        sources: s(v, 'sources'),
        loadInterval: s(v, 'load-interval'),
        endpoint: s(v, 'endpoint'),
        firehoseBuffer: s(v, 'firehose-buffer'),
        rawRetentionDays: s(v, 'raw-retention-days'),
        rpu: s(v, 'rpu'),
        collectorTracing: b(v, 'collector-tracing'),
        json: b(v, 'json'),
      }),
  },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(HELP);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) throw usageError(`Unknown command "${name}"\n\n${HELP}`);
  const { values, positionals } = parseArgs({
    args: rest,
    options: { ...COMMON, ...command.options },
    allowPositionals: Boolean(command.positionals),
    strict: true,
  });
  if (values.help) {
    console.log(command.help);
    return 0;
  }
  const target = async () => {
    const { deployedTarget, localTarget } = await load.target();
    return values.env ? deployedTarget(String(values.env)) : localTarget(String(values['data-dir'] ?? '.clickstream'));
  };
  return command.run(target, values as Values, positionals);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    if (e.name === 'UsageError' || (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(e.message);
      process.exit(2);
    }
    if (e.name === 'StackNotRunningError') {
      console.error(e.message);
      process.exit(1);
    }
    const refused = connectionRefused(e);
    if (refused) {
      console.error(`Cannot reach ${refused} (connection refused): is the stack running? Start it with "npm start".`);
      process.exit(1);
    }
    // Our bug or an AWS error: the message, and the stack only when asked for.
    console.error(process.env.CLICKSTREAM_DEBUG ? (e.stack ?? String(e)) : `${e.name}: ${e.message}`);
    process.exit(1);
  },
);

/** The address of a refused connection anywhere in an error's causes (fetch, the AWS SDK). */
function connectionRefused(e: unknown): string | undefined {
  for (let x = e as { code?: string; address?: string; port?: number; cause?: unknown; errors?: unknown[] } | undefined, i = 0; x && i < 5; i++) {
    if (x.code === 'ECONNREFUSED') return x.address ? `${x.address}:${x.port}` : 'the stack';
    x = (x.cause ?? x.errors?.[0]) as typeof x;
  }
  return undefined;
}
