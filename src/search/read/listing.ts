/** The empty query: a listing of the sharded catalog. Pure module. @module */
import type { PackageSummary } from '../../core/schemas.ts';
import { compareHits, hitFacts, searchFilter, type SearchHit, type ValidSearchOptions } from '../query.ts';
import { checkCatalogFile, checkRefsFile } from '../format/validate.ts';
import { Ref } from '../format/wire-fields.ts';
import type { RefJson, ShardedRoot } from '../format/wire.ts';
import type { DeltaView } from './delta-view.ts';
import { parseWith, type Transport } from './transport.ts';

/**
 * Lists packages from the sharded catalog (an empty query): by name, or by recency, with the
 * filters applied page by page, at most `maxListPages` catalog pages, the delta's packages merged
 * in the tree's order.
 */
export async function listCatalog(transport: Transport, root: ShardedRoot, delta: DeltaView | null, o: ValidSearchOptions, maxListPages: number): Promise<SearchHit[]> {
  const tree = o.sort === 'recent' ? root.catalog.by_recent : root.catalog.by_name;
  // A whole index's orders, which are the trees' (an empty query scores every package 1).
  const order = compareHits(o.sort);
  const passes = searchFilter(o);
  const hits: SearchHit[] = [];
  // The delta's packages, merged in the tree's order; their base entries are skipped.
  const extra = (delta?.summaries ?? [])
    .map((s) => ({ s, facts: hitFacts(s, 1) }))
    .filter((e) => passes(e.facts))
    .sort((a, b) => order(a.facts, b.facts));
  let next = 0;
  const take = (s: PackageSummary): boolean => {
    hits.push({ ...s, score: 1 });
    return hits.length >= o.limit;
  };
  let pages = 0;
  const visit = async (entries: unknown[], height: number): Promise<boolean> => {
    for (const e of entries) {
      const ref = e as RefJson;
      if (height === 1) {
        if (pages >= maxListPages) return true;
        pages++;
        const page = parseWith(checkCatalogFile, await transport.file(Ref.file(ref)), Ref.file(ref));
        for (const s of page.e) {
          if (delta?.hiddenNames.has(s.name)) continue;
          const facts = hitFacts(s, 1);
          while (next < extra.length && order(extra[next]!.facts, facts) < 0) if (take(extra[next++]!.s)) return true;
          if (passes(facts) && take(s)) return true;
        }
      } else {
        if (await visit(parseWith(checkRefsFile, await transport.file(Ref.file(ref)), Ref.file(ref)).e, height - 1)) return true;
      }
    }
    return false;
  };
  if (!(await visit(tree.top, tree.height))) while (next < extra.length && !take(extra[next++]!.s));
  return hits;
}
