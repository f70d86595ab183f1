import { z } from 'zod';

/**
 * The functions' configuration, read once from the environment the stack sets (never secrets)
 * and validated: a missing or malformed variable fails the first invocation with its name.
 */

const json = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'is not valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

/** A source's flags; only those that differ from the default are written (`sourceFlagsEnv`), so 50+ sources fit in 4 KB. */
const SourceFlags = z.object({ name: z.string(), collect: z.boolean().default(true), load: z.boolean().default(true), dryRun: z.boolean().default(false) });

/** The `SOURCES` variable of the loaders: each source's name and the flags that are not the default. */
export function sourceFlagsEnv(sources: ReadonlyArray<{ name: string; collect: boolean; load: boolean; dryRun: boolean }>): string {
  return JSON.stringify(
    sources.map(({ name, collect, load, dryRun }) => ({ name, ...(collect ? {} : { collect }), ...(load ? {} : { load }), ...(dryRun ? { dryRun } : {}) })),
  );
}

/** Reads a `SOURCES` value back with every flag. */
export const parseSourceFlags = (value: string) => z.array(SourceFlags).parse(JSON.parse(value));
const int = z.coerce.number().int();

const CollectorEnv = z.object({
  /** Parameter Store path of the sources (one parameter each: key digests, stream, flags; see core/sourceDirectory). */
  SOURCES_PARAMETER_PATH: z.string().regex(/^\/[A-Za-z0-9_.\-/]+$/),
  /** How long a collector keeps the sources before reading them again (a new write key takes effect within it). */
  SOURCES_CACHE_SECONDS: int.min(0).default(60),
  RAW_BUCKET: z.string().min(1),
  QUARANTINE_PREFIX: z.string().default('_quarantine/'),
  /** Bucket of the suppression lists (erased identities). */
  CONTROL_BUCKET: z.string().min(1),
  /** How long a function keeps a source's suppression list before reading it again. */
  SUPPRESSION_CACHE_SECONDS: int.min(0).default(30),
});

const LoaderEnv = z.object({
  SOURCES: json(z.array(SourceFlags)),
  RAW_BUCKET: z.string().min(1),
  STAGED_BUCKET: z.string().min(1),
  QUARANTINE_PREFIX: z.string().default('_quarantine/'),
  MAX_OBJECTS_PER_LOAD: int.positive().default(500),
  MAX_BACKFILL_DAYS: int.positive().default(400),
  BACKFILL_CEILING: int.positive().default(8),
  BACKFILL_DEFAULT_CONCURRENCY: int.positive().default(4),
  TOLERATED_FAILURE_PERCENTAGE: z.coerce.number().min(0).max(100).default(10),
  /** Days a merge looks back from a load's oldest event (0: the whole table). */
  MERGE_WINDOW_DAYS: int.min(0).default(7),
  WAREHOUSE_WORKGROUP: z.string().optional(),
  WAREHOUSE_CLUSTER: z.string().optional(),
  WAREHOUSE_DATABASE: z.string().min(1),
  COPY_ROLE_ARN: z.string().min(1),
  CONTROL_BUCKET: z.string().min(1),
  SUPPRESSION_CACHE_SECONDS: int.min(0).default(30),
  /** A forget waits this long after suppressing before it rewrites objects: collector caches and Firehose buffers have turned over. */
  SUPPRESSION_SETTLE_SECONDS: int.min(0).default(60),
  /** Buckets of Segment archives an import may read (names; the stack grants read on exactly these). */
  ARCHIVE_BUCKETS: json(z.array(z.string())).default([]),
});

export type CollectorConfig = z.infer<typeof CollectorEnv>;
export type LoaderConfig = z.infer<typeof LoaderEnv>;

function parse<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv): z.infer<T> {
  const res = schema.safeParse(env);
  if (!res.success) {
    const fields = res.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid function configuration (environment variables): ${fields}`);
  }
  return res.data;
}

/** Parsed once per distinct environment (warm invocations reuse it). */
const cache = new Map<z.ZodType, { key: string; value: unknown }>();

function cached<T extends z.ZodObject>(schema: T, env: NodeJS.ProcessEnv): z.infer<T> {
  const key = Object.keys(schema.shape)
    .map((k) => `${k}=${env[k] ?? ''}`)
    .join('\n');
  const hit = cache.get(schema);
  if (hit && hit.key === key) return hit.value as z.infer<T>;
  const value = parse(schema, env);
  cache.set(schema, { key, value });
  return value;
}

export function collectorConfig(env: NodeJS.ProcessEnv = process.env): CollectorConfig {
  return cached(CollectorEnv, env);
}

export function loaderConfig(env: NodeJS.ProcessEnv = process.env): LoaderConfig {
  const config = cached(LoaderEnv, env);
  if (!config.WAREHOUSE_WORKGROUP && !config.WAREHOUSE_CLUSTER) throw new Error('Invalid function configuration: set WAREHOUSE_WORKGROUP or WAREHOUSE_CLUSTER');
  return config;
}
