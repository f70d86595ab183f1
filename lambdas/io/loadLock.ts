import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { layout } from '../core/layout';
import type { ObjectStore } from './objects';

/** The lock object: which execution runs the source's pending load, or that none does. */
export interface LoadLock {
  readonly executionArn: string;
  readonly since: string;
  readonly released?: string;
}

export type Acquired = { readonly acquired: true } | { readonly acquired: false; readonly heldBy: string; readonly since?: string };

/**
 * One pending load per source at a time: a load takes `locks/<source>/load.json` in the staged
 * bucket with an S3 conditional write before it plans anything; a scheduled tick that finds it held
 * by a running execution is skipped (not queued), so a slow load and the next ticks never overlap.
 * The holder releases it when it ends (committed, failed, or nothing to load); a holder that was
 * stopped, timed out or crashed without releasing is found not RUNNING (DescribeExecution, one call)
 * and replaced. Windowed loads (backfill windows, reloads) do not take it: they load other objects
 * or the same ones again, and their conflicts are retried.
 */
export class LoadLocks {
  constructor(
    private readonly objects: ObjectStore,
    private readonly sfn: SFNClient,
    private readonly bucket: string,
  ) {}

  async acquire(source: string, executionArn: string, now = new Date()): Promise<Acquired> {
    const key = layout.loadLock(source);
    const mine: LoadLock = { executionArn, since: now.toISOString() };
    if (await this.objects.putJsonIf(this.bucket, key, mine, { ifNoneMatch: true })) return { acquired: true };
    const current = await this.objects.getJsonTagged<LoadLock>(this.bucket, key);
    // Released between the two calls (or never there): one more conditional create decides.
    if (!current)
      return (await this.objects.putJsonIf(this.bucket, key, mine, { ifNoneMatch: true })) ? { acquired: true } : { acquired: false, heldBy: 'another load' };
    const holder = current.value;
    // This execution already holds it (PlanLoad ran again after a lost response).
    if (holder.executionArn === executionArn && !holder.released) return { acquired: true };
    if (!holder.released && (await this.running(holder.executionArn))) return { acquired: false, heldBy: holder.executionArn, since: holder.since };
    // Free or stale: replace exactly the version read; a concurrent tick that replaced it first wins.
    return (await this.objects.putJsonIf(this.bucket, key, mine, { ifMatch: current.etag })) ? { acquired: true } : { acquired: false, heldBy: 'another load' };
  }

  /** Releases the lock if `executionArn` holds it; a lock taken over meanwhile stays with its new holder. */
  async release(source: string, executionArn: string, now = new Date()): Promise<void> {
    const key = layout.loadLock(source);
    const current = await this.objects.getJsonTagged<LoadLock>(this.bucket, key);
    if (!current || current.value.executionArn !== executionArn || current.value.released) return;
    await this.objects.putJsonIf(this.bucket, key, { ...current.value, released: now.toISOString() }, { ifMatch: current.etag });
  }

  private async running(executionArn: string): Promise<boolean> {
    try {
      const d = await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
      return d.status === 'RUNNING';
    } catch (e) {
      if ((e as { name?: string }).name === 'ExecutionDoesNotExist') return false;
      throw e;
    }
  }
}
