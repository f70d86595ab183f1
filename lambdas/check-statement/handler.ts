import { nextWaitSeconds } from '../core/polling';
import { loaderContext } from '../io/context';
import { statementError } from '../io/warehouse';
import type { StatementState } from '../core/loadTypes';

/**
 * CheckStatement: one DescribeStatement. FINISHED → done; FAILED → a typed error carrying
 * Redshift's message (a serialization conflict is its own error, retried by the workflow);
 * otherwise the next, longer wait.
 */
export async function handler(event: { statement: StatementState }): Promise<StatementState> {
  const { warehouse } = loaderContext();
  const s = event.statement;
  const d = await warehouse.describe(s.statementId);
  if (d.Status === 'FINISHED') return { ...s, finished: true };
  if (d.Status === 'FAILED' || d.Status === 'ABORTED') throw statementError(d, `loading ${s.table}`);
  return { ...s, finished: false, attempt: s.attempt + 1, waitSeconds: nextWaitSeconds(s.waitSeconds) };
}
