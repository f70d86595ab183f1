import './polyfills';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { FaultPlan } from './faults';
import { ConfigError } from '../lib/config/load';
import { DataDirLockedError } from './dataDirLock';
import { startLocalCloud } from './LocalCloud';

const USAGE = `Usage: npm start -- [options]

Runs the whole Clickstream ETL stack locally, from the synthesized "local" environment.

  --data-dir DIR            all state (objects, warehouse, executions)   [.clickstream]
  --edge-port N             AWS-compatible endpoint (S3, Firehose, Step Functions, Redshift Data API) [4566]
  --collector-port N        Segment-compatible collector (/v1/…)         [8080]
  --load-interval SECONDS   scheduled loads per source; 0 = none          [60]
  --buffer-interval SECONDS one Firehose buffer interval for every stream [each stream's own: 5 in "local"]
  --time-scale FACTOR       factor on Wait states and retry intervals     [0.01]
  --faults FILE             inject faults (JSON; see docs/reliability.md) [none]
  --warehouse-url URL       a PostgreSQL server database as the warehouse (postgres://user@host:port/db,
                            a superuser; one database per data directory): concurrent SERIALIZABLE
                            transactions that conflict as on Redshift     [embedded, in DIR/warehouse]
  -h, --help`;

function positiveNumber(name: string, value: string | undefined, fallback: number, allowZero = true): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
    console.error(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got "${value}"\n\n${USAGE}`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        'data-dir': { type: 'string' },
        'edge-port': { type: 'string' },
        'collector-port': { type: 'string' },
        'load-interval': { type: 'string' },
        'buffer-interval': { type: 'string' },
        'time-scale': { type: 'string' },
        faults: { type: 'string' },
        'warehouse-url': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const dataDir = path.resolve(values['data-dir'] ?? '.clickstream');
  let faults: FaultPlan | undefined;
  if (values.faults) {
    try {
      faults = JSON.parse(fs.readFileSync(values.faults, 'utf8')) as FaultPlan;
    } catch (e) {
      console.error(`--faults ${values.faults}: ${(e as Error).message}\n\n${USAGE}`);
      process.exit(2);
    }
  }
  const started = Date.now();
  console.log(`clickstream local: synthesizing the "local" environment and starting in ${dataDir} …`);
  let cloud;
  try {
    cloud = await startLocalCloud({
      dataDir,
      edgePort: positiveNumber('edge-port', values['edge-port'], 4566),
      collectorPort: positiveNumber('collector-port', values['collector-port'], 8080),
      loadIntervalSeconds: positiveNumber('load-interval', values['load-interval'], 60),
      // Unless given, each stream buffers for its own interval from the template (5 s in "local").
      bufferIntervalSeconds: values['buffer-interval'] === undefined ? undefined : positiveNumber('buffer-interval', values['buffer-interval'], 5),
      timeScale: positiveNumber('time-scale', values['time-scale'], 0.01),
      faults,
      warehouseUrl: values['warehouse-url'],
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE')
      console.error(`A port is already in use (${err.message}). Stop the other process or pick another port with --edge-port / --collector-port.`);
    else if (e instanceof DataDirLockedError || e instanceof ConfigError) console.error(err.message);
    else console.error(err.stack ?? String(e));
    process.exit(1);
  }
  const { endpoints } = cloud;
  const key = endpoints.sources[0]?.writeKeys[0] ?? '<writeKey>';
  console.log(`
  edge (AWS APIs)   ${endpoints.edge}
  collector         ${endpoints.collector}/v1/…   sources: ${endpoints.sources.map((s) => s.name).join(', ')}
  warehouse         ${endpoints.warehouse.workgroupName} / ${endpoints.warehouse.database} (${values['warehouse-url'] ? `PostgreSQL server database ${cloud.warehouse.database}, concurrent` : 'embedded, one transaction at a time'})
  endpoints file    ${path.join(dataDir, 'endpoints.json')}

  Try:
    curl -s -u ${key}: -H 'content-type: application/json' \\
      -d '{"type":"track","event":"Signed Up","userId":"u1","properties":{"plan":"pro"}}' ${endpoints.collector}/v1/track
    aws --endpoint-url ${endpoints.edge} s3 ls s3://${endpoints.buckets.raw} --recursive
    npx clickstream send --source ${endpoints.sources[0]?.name ?? 'web'} --events 1000${dataDir === path.resolve('.clickstream') ? '' : ` --data-dir ${dataDir}`}
    npx clickstream status${dataDir === path.resolve('.clickstream') ? '' : ` --data-dir ${dataDir}`}
`);
  console.log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s — edge ${endpoints.edge}, collector ${endpoints.collector}`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping (flushing buffers, letting running executions finish) …`);
    await cloud.stop();
    console.log('stopped; all state is kept in', dataDir);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

void main();
