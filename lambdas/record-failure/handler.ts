import { Logger } from '@aws-lambda-powertools/logger';
import { layout } from '../core/layout';
import { sfnClient } from '../io/clients';
import { loaderContext } from '../io/context';
import { LoadLocks } from '../io/loadLock';
import { IsolationStore } from '../io/isolation';
import { afterFailure } from '../core/isolation';
import type { LoadPlan } from '../core/loadTypes';

const logger = new Logger({ serviceName: 'record-failure' });

export interface FailureEvent {
  readonly state: Record<string, unknown>;
  readonly executionId: string;
}

/** The readable message inside a Step Functions Cause (Lambda's error JSON or plain text). */
export function causeMessage(cause: unknown): string {
  if (typeof cause !== 'string') return String(cause ?? '');
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string; cause?: string; error?: string };
    if (parsed.errorMessage) return parsed.errorMessage;
    if (parsed.cause) return String(parsed.cause);
  } catch {
    // not JSON: the cause is the message
  }
  return cause;
}

/**
 * RecordFailure: finds which step failed (the `$.<Step>Error` the workflow caught), logs it,
 * keeps a record in the staged bucket for operators, and hands the error to the Fail state.
 */
export async function handler(event: FailureEvent): Promise<{ error: string; cause: string; step: string }> {
  const entry = Object.entries(event.state).find(([k, v]) => k.endsWith('Error') && v && typeof v === 'object');
  const step = entry ? entry[0].replace(/Error$/, '') : 'unknown';
  const caught = (entry?.[1] ?? {}) as { Error?: string; Cause?: string };
  const error = caught.Error ?? 'LoadFailed';
  const cause = `${step} failed: ${causeMessage(caught.Cause)}`.slice(0, 32_000);
  const plan = event.state.plan as { source?: string; loadId?: string } | undefined;
  const request = event.state.request as { source?: string } | undefined;
  const source = plan?.source ?? (typeof event.state.source === 'string' ? event.state.source : request?.source) ?? 'unknown';
  logger.error('load failed', { step, error, cause, executionId: event.executionId, source });
  try {
    const { config, objects } = loaderContext();
    const loadId = plan?.loadId ?? (event.executionId.split(':').pop() || 'unknown');
    await objects.putJson(config.STAGED_BUCKET, layout.failure(/^[a-z][a-z0-9_]*$/.test(source) ? source : 'unknown', loadId.replace(/[^A-Za-z0-9_-]/g, '-')), {
      executionId: event.executionId,
      step,
      error,
      cause,
      at: new Date().toISOString(),
    });
  } catch (e) {
    logger.warn('could not keep the failure record', { error: (e as Error).message });
  }
  // A failed load no longer holds its source (the next tick loads the same objects again).
  if (/^[a-z][a-z0-9_]*$/.test(source)) {
    try {
      const { config, objects } = loaderContext();
      // A pending load's failure narrows the next one around its objects (core/isolation.ts).
      const planKey = (event.state.plan as { planKey?: string } | undefined)?.planKey;
      if (planKey) {
        const planned = await objects.getJson<LoadPlan>(config.STAGED_BUCKET, planKey);
        if (planned.mode === 'pending' && !planned.window && !planned.dryRun) {
          const isolation = new IsolationStore(objects, config.STAGED_BUCKET, source);
          const state = await isolation.state();
          const next = afterFailure(
            state,
            planned.objects.map((o) => o.key),
            error,
            cause,
          );
          if (next !== state) await isolation.save(next);
        }
      }
      await new LoadLocks(objects, sfnClient(), config.STAGED_BUCKET).release(source, event.executionId);
    } catch (e) {
      logger.warn('could not release the load lock (the next load replaces it once this execution has ended)', { error: (e as Error).message });
    }
  }
  return { error, cause, step };
}
