import { GetParametersByPathCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { parseSourceEntry, SourceDirectory, type SourceEntry } from '../core/sourceDirectory';
import { TransientError } from '../core/errors';

/**
 * The environment's sources as the stack wrote them to SSM Parameter Store, read with
 * GetParametersByPath (10 per page) and kept for `cacheSeconds` per execution environment, as a
 * warm Lambda keeps module state. A refresh that fails keeps serving the copy it has (a throttled
 * Parameter Store must not turn away traffic); without any copy the request fails as transient,
 * so the client retries.
 */
const cache = new Map<string, { at: number; directory: SourceDirectory }>();

export async function readSourceEntries(ssm: SSMClient, path: string): Promise<SourceEntry[]> {
  const entries: SourceEntry[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ssm.send(new GetParametersByPathCommand({ Path: path, Recursive: false, MaxResults: 10, NextToken }));
    for (const p of page.Parameters ?? []) entries.push(parseSourceEntry(p.Name ?? '?', p.Value ?? ''));
    NextToken = page.NextToken;
  } while (NextToken);
  return entries;
}

export async function sourceDirectory(
  ssm: SSMClient,
  path: string,
  cacheSeconds: number,
  onStale: (error: Error) => void,
  now = Date.now(),
): Promise<SourceDirectory> {
  // Per endpoint too, as the clients are (io/clients.ts): a local stack started again in one process is another Parameter Store.
  const key = `${process.env.AWS_ENDPOINT_URL ?? ''} ${path}`;
  const hit = cache.get(key);
  if (hit && now - hit.at < cacheSeconds * 1000) return hit.directory;
  try {
    const directory = new SourceDirectory(await readSourceEntries(ssm, path));
    cache.set(key, { at: now, directory });
    return directory;
  } catch (e) {
    if (hit) {
      onStale(e as Error);
      cache.set(key, { at: now, directory: hit.directory }); // try again after cacheSeconds, not on every request
      return hit.directory;
    }
    throw new TransientError(`The sources under ${path} could not be read: ${(e as Error).message}`);
  }
}
