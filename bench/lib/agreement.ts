/**
 * How far one ranking agrees with a reference ranking (issue 9's goal 3): the one definition the
 * full benchmark (`bench/search.ts`), the shard benchmark (`bench/shard/measure.ts`) and the
 * tuning harness (`bench/shard/tune.ts`) count with.
 *
 * @module
 */

/**
 * Top-1 agreement and top-5 overlap of a ranking with a reference: the top-5 overlap is the share
 * of the reference's top 5 that the ranking's top 5 also has (1 when both are empty, 0 when only
 * the reference is).
 *
 * @param ranked - The ranking under test, best first (names, or hits with a name).
 * @param reference - The reference ranking, best first.
 */
export function agreement(ranked: readonly (string | { name: string })[], reference: readonly (string | { name: string })[]): { top1: boolean; top5: number } {
  const nameOf = (x: string | { name: string }): string => (typeof x === 'string' ? x : x.name);
  const a = ranked.slice(0, 5).map(nameOf);
  const b = reference.slice(0, 5).map(nameOf);
  const top1 = a[0] === b[0];
  const top5 = b.length === 0 ? (a.length === 0 ? 1 : 0) : a.filter((n) => b.includes(n)).length / b.length;
  return { top1, top5 };
}
