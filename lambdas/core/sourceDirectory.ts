import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * What the collector knows of a source, one SSM parameter per source under the environment's
 * path (`/<name prefix>/sources/<source>`): the SHA-256 digests of its write keys (never the keys),
 * its Firehose stream, its `collect` flag and IP policy. Kept out of the function's environment,
 * whose 4 KB would otherwise bound the number of sources (about 30).
 */
export const SourceEntry = z.object({
  name: z.string().min(1),
  /** SHA-256 of each write key, lowercase hex. */
  keys: z.array(z.string().regex(/^[0-9a-f]{64}$/)).min(1),
  stream: z.string().min(1),
  collect: z.boolean(),
  ip: z.enum(['keep', 'truncate', 'drop']).default('keep'),
});
export type SourceEntry = z.infer<typeof SourceEntry>;

/** Standard-tier SSM parameters hold at most 4,096 characters ("Parameter Store quotas"). */
export const SOURCE_PARAMETER_MAX_CHARS = 4096;

export const writeKeyDigest = (writeKey: string): string => createHash('sha256').update(writeKey, 'utf8').digest('hex');

/** The parameter path of an environment's sources (no trailing slash), e.g. `/clickstream-prod/sources`. */
export const sourceParameterPath = (namePrefix: string): string => `/${namePrefix}/sources`;

/** The value stored for a source (what the stack writes). */
export function sourceParameterValue(source: {
  name: string;
  writeKeys: ReadonlyArray<string>;
  stream: string;
  collect: boolean;
  ip?: SourceEntry['ip'];
}): string {
  const entry: SourceEntry = {
    name: source.name,
    keys: source.writeKeys.map(writeKeyDigest),
    stream: source.stream,
    collect: source.collect,
    ip: source.ip ?? 'keep',
  };
  return JSON.stringify(entry);
}

/** Parses a stored value; a malformed one names its parameter. */
export function parseSourceEntry(parameterName: string, value: string): SourceEntry {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    throw new Error(`Source parameter ${parameterName} is not JSON`);
  }
  const res = SourceEntry.safeParse(json);
  if (!res.success) throw new Error(`Source parameter ${parameterName}: ${res.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return res.data;
}

/**
 * The sources by key digest. A lookup hashes the presented key once and compares it with every
 * digest in constant time (no early exit: the time does not tell how close a guess was).
 */
export class SourceDirectory {
  private readonly digests: Array<{ digest: Buffer; source: SourceEntry }>;

  constructor(public readonly sources: ReadonlyArray<SourceEntry>) {
    this.digests = sources.flatMap((s) => s.keys.map((k) => ({ digest: Buffer.from(k, 'hex'), source: s })));
  }

  sourceForKey(writeKey: string): SourceEntry | undefined {
    const d = createHash('sha256').update(writeKey, 'utf8').digest();
    let found: SourceEntry | undefined;
    for (const entry of this.digests) if (timingSafeEqual(d, entry.digest)) found = entry.source;
    return found;
  }
}
