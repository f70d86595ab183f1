/** The Firehose buffering the stack ships (config defaults, construct defaults, the cost model's). */
export const FIREHOSE_DEFAULTS = { intervalSeconds: 60, sizeMiB: 64 } as const;

/**
 * A source's Firehose buffer interval: the configured one, but at most a quarter of its load
 * interval, so that an event waits for the buffer and the next load together less than twice
 * the load interval (p95 freshness; see docs/performance.md).
 */
export function bufferSecondsFor(configuredSeconds: number, loadIntervalSeconds: number | undefined): number {
  return loadIntervalSeconds === undefined ? configuredSeconds : Math.min(configuredSeconds, Math.floor(loadIntervalSeconds / 4));
}
