/**
 * Pieces shared by the fuzz suites: a store that counts write attempts, and the check of an error
 * answer against the table of codes.
 */
import { announceDepsFromConfig } from '../../src/announce/from-config.ts';
import { createAnnounceHandler, type FunctionUrlEvent, type FunctionUrlResult } from '../../src/announce/handler.ts';
import { loadAnnounceConfig } from '../../src/config.ts';
import { ERRORS, type ErrorCode } from '../../src/core/errors.ts';
import { AUDIENCE, type TestRegistry } from '../helpers/test-registry.ts';
import type { ObjectInfo, ObjectStore, PutOptions, PutResult, StoredObject } from '../../src/store/object-store.ts';

/** The only 5xx answers the README documents: each means "retry later", and writes nothing. */
export const DOCUMENTED_5XX: ReadonlySet<string> = new Set(['upstream_unavailable', 'write_contention', 'store_unavailable']);

/**
 * The function's handler with the production wiring (`announceDepsFromConfig`: the real token
 * verifier against the fake issuer's JWKS, the real release fetcher against the fake GitHub, the
 * test registry's signer) over `store`.
 */
export function productionHandler(reg: TestRegistry, store: ObjectStore): (event: FunctionUrlEvent) => Promise<FunctionUrlResult> {
  const config = loadAnnounceConfig({
    SHELF_AUDIENCE: AUDIENCE,
    SHELF_OIDC_ISSUER: reg.github.issuer,
    SHELF_OIDC_JWKS_URL: reg.github.jwksUrl,
    SHELF_GITHUB_API_URL: reg.github.url,
    SHELF_ASSET_TIMEOUT_MS: '5000',
  });
  return createAnnounceHandler(announceDepsFromConfig(config, store, reg.server.signer));
}

/** An answer: its status and its body. */
export interface Outcome {
  status: number;
  body: string;
}

/** Counts every write attempt, successful or not: a refused request must not even try. */
export class CountingStore implements ObjectStore {
  writes = 0;
  constructor(private readonly inner: ObjectStore) {}
  get description(): string {
    return `counting(${this.inner.description})`;
  }
  get(key: string): Promise<StoredObject | null> {
    return this.inner.get(key);
  }
  head(key: string): Promise<ObjectInfo | null> {
    return this.inner.head(key);
  }
  list(prefix: string): Promise<ObjectInfo[]> {
    return this.inner.list(prefix);
  }
  put(key: string, body: Uint8Array, options: PutOptions): Promise<PutResult> {
    this.writes++;
    return this.inner.put(key, body, options);
  }
  delete(key: string): Promise<void> {
    this.writes++;
    return this.inner.delete(key);
  }
}

/**
 * What is wrong with an error answer (its parsed body `json`), or null: a known code, with the
 * status the table gives it, a message, and no 5xx but the documented ones.
 */
export function errorProblem(res: Outcome, json: any): string | null {
  const code = json?.error?.code as ErrorCode | undefined;
  if (typeof code !== 'string' || !Object.hasOwn(ERRORS, code)) return `status ${res.status} without a known error code: ${res.body.slice(0, 200)}`;
  if (ERRORS[code].status !== res.status) return `code ${code} with status ${res.status}, the table says ${ERRORS[code].status}`;
  if (typeof json.error.message !== 'string' || json.error.message === '') return `code ${code} without a message`;
  if (res.status >= 500 && !(res.status === 503 && DOCUMENTED_5XX.has(code))) return `undocumented ${res.status} ${code}: ${json.error.message}`;
  return null;
}
