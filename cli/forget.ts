import * as fs from 'node:fs';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { InvalidInputError } from '../lambdas/core/errors';
import { checkForgetRequest, type IdentityKind, unsuppress } from '../lambdas/core/privacy';
import type { ErasureReceipt } from '../lambdas/erase-rows/handler';
import { failureMessage, runExecution } from '../lambdas/io/executions';
import { ObjectStore } from '../lambdas/io/objects';
import { SuppressionStore } from '../lambdas/io/suppression';
import { fmt, table } from './format';
import { FORGET_HELP } from './help';
import { clientConfig, type Target, UsageError } from './target';

export { FORGET_HELP };

export interface ForgetOptions {
  readonly source?: string;
  readonly userIds: string[];
  readonly anonymousIds: string[];
  readonly file?: string;
  readonly dryRun?: boolean;
  readonly list?: boolean;
  readonly unsuppress?: boolean;
  readonly json?: boolean;
}

/** Ids from `--file`: one per line; `anonymousId:ID` names an anonymous id, `userId:ID` (or a bare id) a user id; `#` comments. */
export function idsFromFile(text: string): { userIds: string[]; anonymousIds: string[] } {
  const out = { userIds: [] as string[], anonymousIds: [] as string[] };
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(userId|anonymousId):(.+)$/.exec(line);
    if (m?.[1] === 'anonymousId') out.anonymousIds.push(m[2].trim());
    else out.userIds.push(m ? m[2].trim() : line);
  }
  return out;
}

export async function runForget(
  target: Target,
  options: ForgetOptions,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  if (!options.source) throw new UsageError(`--source is required (a source name or "*")\n\n${FORGET_HELP}`);
  const sources = options.source === '*' ? target.sources.map((s) => s.name) : options.source.split(',').map((s) => s.trim());
  let userIds = [...options.userIds];
  let anonymousIds = [...options.anonymousIds];
  if (options.file) {
    let text: string;
    try {
      text = fs.readFileSync(options.file, 'utf8');
    } catch (e) {
      throw new UsageError(`Cannot read --file ${options.file}: ${(e as Error).message}`);
    }
    const fromFile = idsFromFile(text);
    userIds = [...userIds, ...fromFile.userIds];
    anonymousIds = [...anonymousIds, ...fromFile.anonymousIds];
  }
  const config = clientConfig(target);
  if (options.list || options.unsuppress) {
    if (!target.buckets.control) throw new UsageError('This stack has no control bucket output: deploy the current version of the stack.');
    const s3 = new S3Client(config);
    try {
      const store = new SuppressionStore(new ObjectStore(s3), target.buckets.control, 0);
      return options.list ? await listSuppressed(store, sources, options, out) : await unsuppressIds(store, sources, userIds, anonymousIds, options, out);
    } finally {
      s3.destroy();
    }
  }
  const input = { source: options.source === '*' ? '*' : sources.length === 1 ? sources[0] : sources, userIds, anonymousIds, dryRun: Boolean(options.dryRun) };
  // Bad input never starts an execution: the same check PlanForget makes.
  try {
    checkForgetRequest(
      input,
      target.sources.map((s) => s.name),
    );
  } catch (e) {
    if (e instanceof InvalidInputError) throw new UsageError(e.message);
    throw e;
  }
  if (!target.stateMachines.forget) throw new UsageError('This stack has no forget workflow output: deploy the current version of the stack.');
  const sfn = new SFNClient(config);
  try {
    err.write(
      `forget: ${fmt(userIds.length)} user id(s), ${fmt(anonymousIds.length)} anonymous id(s) in ${sources.join(', ')}${options.dryRun ? ' (dry run)' : ''}…\n`,
    );
    const d = await runExecution(sfn, target.stateMachines.forget, input);
    if (d.status !== 'SUCCEEDED') {
      err.write(`forget ${d.status}: ${failureMessage(d)}\n`);
      return d.error === 'InvalidInputError' ? 2 : 3;
    }
    const result = JSON.parse(d.output ?? '{}') as { requestId: string; dryRun: boolean; receipts: ErasureReceipt[] };
    if (options.json) out.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      out.write(`\nRequest ${result.requestId}: ${result.dryRun ? 'dry run, nothing was changed — this is what it would erase' : 'erased and suppressed'}\n`);
      for (const r of result.receipts) {
        out.write(
          `\n${r.source}: ${fmt(r.identities)} identities (with linked anonymous ids), ${fmt(r.objects.rewritten)} of ${fmt(r.objects.objects)} objects ${result.dryRun ? 'to rewrite' : 'rewritten'}, ${fmt(r.objects.linesRemoved)} lines ${result.dryRun ? 'to remove' : 'removed'}\n`,
        );
        const rows = Object.entries(r.rowsDeleted)
          .filter(([, n]) => n > 0)
          .sort();
        out.write(
          rows.length > 0 ? `${table([['table', result.dryRun ? 'rows to delete' : 'rows deleted'], ...rows.map(([t, n]) => [t, n])])}\n` : '  no rows\n',
        );
      }
      if (!result.dryRun) out.write(`\nReceipts: npx clickstream sql "SELECT * FROM <source>._erasures WHERE request_id = '${result.requestId}'"\n`);
    }
    return 0;
  } finally {
    sfn.destroy();
  }
}

async function listSuppressed(store: SuppressionStore, sources: string[], options: ForgetOptions, out: NodeJS.WritableStream): Promise<number> {
  const lists = await Promise.all(sources.map(async (source) => ({ source, entries: (await store.read(source)).entries })));
  if (options.json) out.write(`${JSON.stringify(lists, null, 2)}\n`);
  else {
    out.write('Suppressed identities (ids are kept only as SHA-256 digests):\n');
    out.write(
      `${table([['source', 'kind', 'sha256', 'request', 'since'], ...lists.flatMap((l) => l.entries.map((e) => [l.source, e.kind, e.hash.slice(0, 16), e.requestId, e.at]))])}\n`,
    );
  }
  return 0;
}

async function unsuppressIds(
  store: SuppressionStore,
  sources: string[],
  userIds: string[],
  anonymousIds: string[],
  options: ForgetOptions,
  out: NodeJS.WritableStream,
): Promise<number> {
  if (userIds.length + anonymousIds.length === 0) throw new UsageError('--unsuppress needs the ids: --user-id ID and/or --anonymous-id ID (or --file)');
  const ids = [...userIds.map((id) => ({ kind: 'userId' as IdentityKind, id })), ...anonymousIds.map((id) => ({ kind: 'anonymousId' as IdentityKind, id }))];
  const results: Array<{ source: string; removed: number }> = [];
  for (const source of sources) {
    const { list, removed } = unsuppress(await store.read(source), ids);
    if (removed > 0) await store.write(source, list);
    results.push({ source, removed });
  }
  if (options.json) out.write(`${JSON.stringify(results, null, 2)}\n`);
  else
    for (const r of results)
      out.write(
        `${r.source}: ${r.removed} entr${r.removed === 1 ? 'y' : 'ies'} removed; new events of these ids are collected again (erased data does not come back)\n`,
      );
  return 0;
}
