import { type FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { batchBy } from '../core/batching';
import { TransientError } from '../core/errors';

/** Firehose limits: one PutRecordBatch takes ≤ 500 records and ≤ 4 MiB; one record ≤ 1,000 KiB. */
export const FIREHOSE_LIMITS = { recordsPerCall: 500, bytesPerCall: 4 * 1024 * 1024, recordBytes: 1000 * 1024 } as const;

export interface SinkOptions {
  /** Attempts for records Firehose did not accept (partial failures). @default 4 */
  readonly attempts?: number;
  /** First backoff in ms, doubled each attempt, with full jitter. @default 50 */
  readonly baseDelayMs?: number;
}

/**
 * Packs newline-terminated lines into as few Firehose records as fit under the record limit:
 * Firehose bills in 5 KB steps per record and counts calls, so one record per event is waste.
 */
export function packRecords(lines: ReadonlyArray<string>, maxRecordBytes: number = FIREHOSE_LIMITS.recordBytes): Buffer[] {
  const records: Buffer[] = [];
  let current = '';
  let size = 0;
  for (const line of lines) {
    const bytes = Buffer.byteLength(line, 'utf8');
    if (bytes > maxRecordBytes) throw new Error(`a single event of ${bytes} bytes exceeds the Firehose record limit`);
    if (size + bytes > maxRecordBytes && current.length > 0) {
      records.push(Buffer.from(current, 'utf8'));
      current = '';
      size = 0;
    }
    current += line;
    size += bytes;
  }
  if (current.length > 0) records.push(Buffer.from(current, 'utf8'));
  return records;
}

/** Splits records into PutRecordBatch calls within both call limits. */
export function batchCalls(records: ReadonlyArray<Buffer>): Buffer[][] {
  return batchBy(records, (r) => r.length, FIREHOSE_LIMITS.recordsPerCall, FIREHOSE_LIMITS.bytesPerCall);
}

/**
 * Writes records to a delivery stream and resolves only when Firehose accepted every one:
 * records that failed inside a successful call are retried with backoff; if some still fail,
 * a TransientError is thrown so the caller answers 503 and the client retries (duplicates are
 * removed downstream by messageId).
 */
export async function putAll(client: FirehoseClient, stream: string, records: ReadonlyArray<Buffer>, options: SinkOptions = {}): Promise<{ calls: number }> {
  const attempts = options.attempts ?? 4;
  const baseDelay = options.baseDelayMs ?? 50;
  let calls = 0;
  await Promise.all(
    batchCalls(records).map(async (batch) => {
      let pending = batch;
      for (let attempt = 1; pending.length > 0; attempt++) {
        let failed: Buffer[];
        try {
          calls++;
          const res = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: stream, Records: pending.map((Data) => ({ Data })) }));
          failed = (res.FailedPutCount ?? 0) === 0 ? [] : pending.filter((_, i) => res.RequestResponses?.[i]?.ErrorCode);
        } catch (e) {
          if (attempt >= attempts) throw new TransientError(`Firehose ${stream} did not accept the batch: ${(e as Error).message}`, { stream }, { cause: e });
          failed = pending;
        }
        if (failed.length > 0 && attempt >= attempts) {
          throw new TransientError(`Firehose ${stream} still rejected ${failed.length} of ${batch.length} records after ${attempts} attempts`, { stream });
        }
        pending = failed;
        if (pending.length > 0) await new Promise((r) => setTimeout(r, Math.random() * baseDelay * 2 ** (attempt - 1)));
      }
    }),
  );
  return { calls };
}
