/**
 * Groups items in order into batches of at most `maxItems` items and `maxBytes` bytes (an item
 * larger than `maxBytes` gets a batch of its own). Used wherever a limit applies per call or chunk.
 */
export function batchBy<T>(items: ReadonlyArray<T>, sizeOf: (item: T) => number, maxItems: number, maxBytes: number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (current.length >= maxItems || bytes + size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
