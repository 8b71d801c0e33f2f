/**
 * The status pipeline: a publisher marks a version `yanked`, `deprecated` or `active` again, or
 * the package as a whole `deprecated` or `active`, with the same token and the same trust rules
 * as an announce of that package. Read top to bottom:
 *
 * 1. **verify**: the bearer token, as for an announce (`verify-token.ts`).
 * 2. **validate**: the body (`StatusRequestSchema`: a yank names its version; the message is
 *    plain text of at most 500 characters), the name and version, the scope against the token's
 *    owner and the pins (trust rules 2 and 3, `authorize.ts`: only the repository the package is
 *    pinned to may change its status), that the package (and the version) exists and was not
 *    taken down, and the token's earlier use: one token, one write (`token-use.ts`).
 * 3. **idempotency**: setting the status (and message) a package or version already has changes
 *    nothing: `200` with `changed: false`; its derived files are refreshed all the same (a
 *    retry after a crash repairs them).
 * 4. **token** (create-only): the token's use, so it can repeat this change and nothing else.
 * 5. **gate** (compare-and-swap, a yank only): the version document says `yanked` before the
 *    record does. An announce adds a platform by compare-and-swap of that document and refuses
 *    when it says `yanked`, so the two meet on one object: an announce that read the document
 *    before the gate loses its swap and, retrying, sees the gate. (A check of the record alone
 *    could pass just before the yank recorded it and the platform be added just after.)
 *    Refreshes leave a gate in flight alone (`yankInFlight`, `indexer/lifecycle.ts`). The gate
 *    touches only the document's unsigned status fields, never an artifact's signed statement.
 * 6. **lifecycle** (compare-and-swap): the package's lifecycle record gains the status and a
 *    history entry with the token's provenance (checked again against the record as stored). A
 *    yank records only within `YANK_RECORD_DEADLINE_MS` of its gate, else `503 write_contention`
 *    (retry): after that, refreshes may take its gate for a crashed one.
 * 7. **derived** (compare-and-swap each): the statuses mirrored into the version documents, the
 *    package document (re-signed: statuses are signed through it, see `signing/payloads.ts`),
 *    badge, scope, search index and catalog, recent list. An unyank's document opens here, after
 *    its record: an announce in between is refused, as it was before.
 *
 * Nothing is written before step 4, so every rejected request writes nothing. The lifecycle
 * record is the source of truth; a crash after it leaves derived files stale, and the next write
 * to the package (or a rebuild) recomputes them. A crash between the gate and the record leaves
 * the version closed (`shelf check` reports its document stale): the retry records the yank; the
 * next write to the package after `YANK_GATE_LEASE_MS`, or a rebuild, reopens it.
 *
 * @module
 */
import { ShelfError } from '../core/errors.ts';
import { parsePackageName, parseVersion, type Kind, type PackageName, type Version } from '../core/names.ts';
import { lifecycleKey, versionKey } from '../core/paths.ts';
import { LifecycleRecordSchema, StatusRequestSchema, VersionDocumentSchema, type PublisherStatus, type StatusResponse, type VersionStatus } from '../core/schemas.ts';
import { applyStatus, versionStatusOf, YANK_RECORD_DEADLINE_MS, type StatusChange, type StatusFields } from '../indexer/lifecycle.ts';
import { refreshPackage } from '../registry/refresh.ts';
import { DERIVED_STEPS, withStatus } from '../registry/derived-files.ts';
import { readLifecycle } from '../registry/records.ts';
import { updateJson } from '../store/json-documents.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { AnnounceDeps } from './announce.ts';
import { bearerToken, checkNotRemoved, checkPins, checkScope, invalidBody, provenanceOf } from './authorize.ts';
import { checkTokenUse, recordTokenUse, sweepUsedTokensNow, type StatusUse } from './token-use.ts';
import type { TokenClaims } from './verify-token.ts';

/** The steps that write, in order; the test-only hook can stop the pipeline after any of them. */
export const STATUS_STEPS = ['token', 'gate', 'lifecycle', ...DERIVED_STEPS] as const;

/** A status change's answer (always 200). */
export interface StatusResult {
  statusCode: 200;
  body: StatusResponse;
}

/** A request, validated: what the later steps need. */
interface Accepted {
  kind: Kind;
  pkg: PackageName;
  version: Version | null;
  status: PublisherStatus;
  message: string | undefined;
}

/**
 * Runs one status change. Its dependencies are the announce's (`verifyToken`, `store`, the
 * signer, the clock and the test hook); it fetches nothing.
 *
 * @param authorization the `Authorization` header value
 * @param body the parsed JSON body
 * @throws ShelfError with the status and stable code of the refusal
 */
export async function changeStatus(kind: Kind, authorization: string | undefined, body: unknown, deps: AnnounceDeps): Promise<StatusResult> {
  const { store } = deps;
  const clock = deps.now ?? (() => new Date());
  const now = clock().toISOString();

  // 1. verify
  const claims = await deps.verifyToken(bearerToken(authorization));

  // 2. validate
  const req = accept(kind, body);
  checkScope(req.pkg, claims);
  const pkgDoc = await checkPins(store, kind, req.pkg, claims);
  if (!pkgDoc) throw new ShelfError('not_found', `${kind} ${req.pkg.full} was not found.`);
  const record = await readLifecycle(store, kind, req.pkg);
  checkNotRemoved(record, req.pkg, req.version);
  if (req.version !== null && !(await store.head(versionKey(kind, req.pkg, req.version)))) {
    throw new ShelfError('not_found', `${kind} ${req.pkg.full} has no version ${req.version}.`);
  }
  const use: StatusUse = { op: 'status', kind, pkg: req.pkg, version: req.version, status: req.status, message: req.message ?? null };
  await checkTokenUse(store, claims, use);

  // 3. idempotency
  const change = changeOf(req, claims, now);
  if (!applyStatus(record, kind, req.pkg.full, change).changed) {
    await recordTokenUse(store, claims, use, now);
    await refreshPackage(store, kind, req.pkg, { signer: deps.signer });
    await sweepUsedTokensNow(store, clock());
    return respond(req, false);
  }

  // 4. token
  await recordTokenUse(store, claims, use, now);
  await deps.afterStep?.('token');

  // 5. gate
  const gated = req.status === 'yanked';
  if (gated) await closeVersion(store, req, versionStatusOf(applyStatus(record, kind, req.pkg.full, change).record, req.version!));
  await deps.afterStep?.('gate');

  // 6. lifecycle
  const { changed } = await updateJson(
    store,
    lifecycleKey(kind, req.pkg),
    LifecycleRecordSchema,
    (current) => {
      // A takedown may have happened since step 2.
      checkNotRemoved(current, req.pkg, req.version);
      if (gated && clock().getTime() - Date.parse(now) > YANK_RECORD_DEADLINE_MS) {
        throw new ShelfError('write_contention', `The yank of ${req.pkg.full}@${req.version} took too long to record (over ${YANK_RECORD_DEADLINE_MS / 1000} s); retry it.`);
      }
      return applyStatus(current, kind, req.pkg.full, change).record;
    },
    { strict: true },
  );
  await deps.afterStep?.('lifecycle');

  // 7. derived
  await refreshPackage(store, kind, req.pkg, { afterStep: deps.afterStep, signer: deps.signer });
  await sweepUsedTokensNow(store, clock());
  return respond(req, changed);
}

/**
 * Step 5: marks the version document with the status the record is about to give it (the record
 * is read after the document's ETag: a takedown since step 2 wins, and its document is not
 * recreated).
 */
async function closeVersion(store: ObjectStore, req: Accepted, fields: StatusFields<VersionStatus>): Promise<void> {
  await updateJson(
    store,
    versionKey(req.kind, req.pkg, req.version!),
    VersionDocumentSchema,
    async (current) => {
      checkNotRemoved(await readLifecycle(store, req.kind, req.pkg), req.pkg, req.version);
      if (!current) throw new ShelfError('not_found', `${req.kind} ${req.pkg.full} has no version ${req.version}.`);
      return withStatus(current, fields);
    },
    { strict: true },
  );
}

/** Step 2, without I/O: the body, the name and the version. */
function accept(kind: Kind, body: unknown): Accepted {
  const parsed = StatusRequestSchema.safeParse(body);
  if (!parsed.success) throw invalidBody('status', parsed.error);
  const data = parsed.data;
  const pkg = parsePackageName(data.name);
  const version = data.version === undefined || data.version === null ? null : parseVersion(data.version);
  if (version === null && data.status === 'yanked') {
    throw new ShelfError('invalid_body', 'Invalid status body: version: a yank is per version; name the version to yank.', {
      issues: [{ path: 'version', message: 'required to yank' }],
    });
  }
  return { kind, pkg, version, status: data.status, message: data.message };
}

function changeOf(req: Accepted, claims: TokenClaims, at: string): StatusChange {
  return { version: req.version, status: req.status, message: req.message, at, provenance: provenanceOf(claims) };
}

function respond(req: Accepted, changed: boolean): StatusResult {
  const body: StatusResponse = { package: req.pkg.full, status: req.status, changed };
  if (req.version !== null) body.version = req.version;
  if (req.message !== undefined) body.message = req.message;
  return { statusCode: 200, body };
}
