/**
 * Brings the derived files of one package up to date with its records, after an announce: each
 * producer of `derived-files.ts` in turn (the statuses its version documents mirror from its
 * lifecycle record, the package document, its badge, the scope record's package list, the search
 * index and catalog, the recent list, the files of the MCP registry API and agent-skills
 * discovery). Each is a compare-and-swap write
 * of a pure function of what is stored, so running this again (after a crash, or concurrently
 * with another announce) converges to the same files.
 *
 * @module
 */
import type { Kind, PackageName } from '../core/names.ts';
import type { PackageDocument } from '../core/schemas.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { PRODUCERS, type PackageRefresh } from './derived-files.ts';
import type { Signer } from '../signing/signer.ts';

/** Called after each step; tests use it to simulate a crash between two writes. */
export type StepHook = (step: string) => void | Promise<void>;

/** Options of {@link refreshPackage}. */
export interface RefreshOptions {
  /** Called after each step (tests simulate crashes here). */
  afterStep?: StepHook;
  /** Signs the package document. Without one it is written unsigned. */
  signer?: Signer | undefined;
}

/** Refreshes every derived file of one package; returns its package document as written. */
export async function refreshPackage(store: ObjectStore, kind: Kind, pkg: PackageName, options: RefreshOptions = {}): Promise<PackageDocument> {
  const refresh: PackageRefresh = { store, kind, pkg, versions: new Map(), signer: options.signer };
  for (const producer of PRODUCERS) {
    await producer.refresh(refresh);
    await options.afterStep?.(producer.step);
  }
  return refresh.doc!;
}
