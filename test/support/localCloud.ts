import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { type LocalCloud, type LocalCloudOptions, startLocalCloud } from '../../local/LocalCloud';
import { synthesizeTemplate, type CfnTemplate } from '../../local/template';
import { startPostgres } from './postgres';

let cachedTemplate: CfnTemplate | undefined;

/** The synthesized `local` template, once per test file. */
export function localTemplate(): CfnTemplate {
  cachedTemplate ??= synthesizeTemplate('local');
  return cachedTemplate;
}

export interface TestCloud {
  readonly cloud: LocalCloud;
  readonly dataDir: string;
  readonly clients: { s3: S3Client; firehose: FirehoseClient; sfn: SFNClient; data: RedshiftDataClient };
  stop(options?: { keepData?: boolean }): Promise<void>;
}

/**
 * Starts the local stack in this process on free ports and a fresh data directory, with the
 * real AWS SDK clients pointed at its edge (default settings, dummy credentials).
 */
export async function startTestCloud(overrides: Partial<LocalCloudOptions> = {}): Promise<TestCloud> {
  const dataDir = overrides.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'clickstream-test-'));
  // CLICKSTREAM_TEST_WAREHOUSE=postgres (with CLICKSTREAM_TEST_POSTGRES_URL): every test's stack on a
  // database of its own on that PostgreSQL server, to run any test against the concurrent warehouse.
  // A restart on the same data directory gets the same database.
  let warehouseUrl = overrides.warehouseUrl;
  if (!warehouseUrl && process.env.CLICKSTREAM_TEST_WAREHOUSE === 'postgres' && process.env.CLICKSTREAM_TEST_POSTGRES_URL) {
    const file = path.join(dataDir, 'test-warehouse-url');
    warehouseUrl = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : await (await startPostgres()).createDatabase();
    fs.writeFileSync(file, warehouseUrl);
  }
  const cloud = await startLocalCloud({
    warehouseUrl,
    dataDir,
    edgePort: 0,
    collectorPort: 0,
    loadIntervalSeconds: 0,
    bufferIntervalSeconds: 1,
    timeScale: 0.001,
    template: localTemplate(),
    ...overrides,
  });
  const config = {
    endpoint: cloud.endpoints.edge,
    region: cloud.endpoints.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const clients = {
    s3: new S3Client({ ...config, forcePathStyle: true }),
    firehose: new FirehoseClient(config),
    sfn: new SFNClient(config),
    data: new RedshiftDataClient(config),
  };
  return {
    cloud,
    dataDir,
    clients,
    async stop(options) {
      for (const c of Object.values(clients)) c.destroy();
      await cloud.stop();
      if (!options?.keepData) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `fn` until it returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
