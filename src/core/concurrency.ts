/**
 * Bounded concurrency: enough requests in flight to hide a store's latency, few enough for file
 * handles and sockets.
 *
 * Pure module: no Node APIs.
 *
 * @module
 */

/** Runs `fn` over `items`, at most `limit` at a time; rejects with the first error. */
export async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
