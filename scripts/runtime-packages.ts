/**
 * Which npm packages the registry's code may carry into a bundle. Both bundles of this repository
 * — the announce function (`build-lambda.ts`) and the published command line (`build-cli.ts`) —
 * inline their libraries, so `package.json` lists every package under `devDependencies` and the
 * lockfile cannot tell a runtime library from a test tool. This module says it instead: the
 * libraries `src/` imports ({@link RUNTIME_PACKAGES}, held equal to the sources' imports by a
 * test), and everything the lockfile shows they depend on.
 *
 * @module
 */

/**
 * The libraries `src/` imports at run time. Everything else in `package.json` is tooling: tests,
 * bench, builds, infrastructure. (`markdown-it` renders READMEs in the web pages' bundle only; `@aws-sdk/client-secrets-manager` reads the GitHub token in the announce function only.) `esbuild` is not one of them although `src/registry/web-assets.ts`
 * imports it: it is loaded when present (a checkout) and never bundled.
 */
export const RUNTIME_PACKAGES: readonly string[] = [
  '@anthropic-ai/mcpb',
  '@aws-sdk/client-cloudfront',
  '@aws-sdk/client-kms',
  '@aws-sdk/client-s3',
  '@aws-sdk/client-secrets-manager',
  '@sigstore/bundle',
  '@sigstore/protobuf-specs',
  '@sigstore/verify',
  'fflate',
  'jose',
  'markdown-it',
  'minisearch',
  'semver',
  'stemmer',
  'yaml',
  'zod',
];

/** The parts of a `package-lock.json` (v2 or later) this module reads. */
export interface Lockfile {
  packages?: Record<string, { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>; peerDependencies?: Record<string, string> }>;
}

/**
 * Lockfile keys (`node_modules/a`, `node_modules/a/node_modules/b`) of the runtime packages and of
 * everything they depend on, resolved as Node resolves them (nearest `node_modules` first).
 *
 * @throws Error when the lockfile has no `packages` map.
 */
export function runtimeClosure(lock: Lockfile, roots: readonly string[] = RUNTIME_PACKAGES): Set<string> {
  const packages = lock.packages;
  if (!packages) throw new Error('package-lock.json has no "packages" map (lockfile v2 or later is required).');
  const seen = new Set<string>();
  const visit = (key: string) => {
    if (seen.has(key)) return;
    seen.add(key);
    const entry = packages[key]!;
    const names = { ...entry.peerDependencies, ...entry.optionalDependencies, ...entry.dependencies };
    for (const name of Object.keys(names)) {
      const found = resolveFrom(packages, key, name);
      if (found) visit(found);
    }
  };
  for (const root of roots) {
    const key = `node_modules/${root}`;
    if (packages[key]) visit(key);
  }
  return seen;
}

/** `node_modules/a/node_modules/b` + `c` → the nearest `.../node_modules/c` the lockfile has. */
function resolveFrom(packages: NonNullable<Lockfile['packages']>, from: string, name: string): string | null {
  let base = from;
  for (;;) {
    const candidate = `${base}/node_modules/${name}`;
    if (packages[candidate]) return candidate;
    const at = base.lastIndexOf('/node_modules/');
    if (at < 0) break;
    base = base.slice(0, at);
  }
  return packages[`node_modules/${name}`] ? `node_modules/${name}` : null;
}

/**
 * `node_modules/@a/b/node_modules/c/x.js` → `node_modules/@a/b/node_modules/c` (a lockfile key);
 * null outside node_modules. A path that reaches node_modules through a symlinked folder
 * (`../elsewhere/node_modules/a/x.js`, as esbuild reports it) gives the same key.
 */
export function packagePath(input: string): string | null {
  const first = input.indexOf('node_modules/');
  if (first < 0) return null;
  const path = input.slice(first);
  const at = path.lastIndexOf('node_modules/');
  const rest = path.slice(at + 'node_modules/'.length).split('/');
  const name = rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  return `${path.slice(0, at)}node_modules/${name}`;
}

/**
 * The bundle inputs that come from a package outside {@link runtimeClosure}, each with the reason.
 *
 * @param inputs - esbuild metafile input paths, relative to the repository root.
 */
export function nonRuntimeInputs(inputs: readonly string[], lock: Lockfile): string[] {
  const closure = runtimeClosure(lock);
  const problems: string[] = [];
  for (const input of inputs) {
    const pkg = packagePath(input);
    if (!pkg) continue;
    if (!lock.packages![pkg]) problems.push(`${input}: package ${pkg} is not in package-lock.json`);
    else if (!closure.has(pkg)) problems.push(`${input}: ${pkg} is not a runtime library (scripts/runtime-packages.ts), only a development tool`);
  }
  return problems;
}
