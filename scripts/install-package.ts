/**
 * Packs this repository as npm would publish it and installs the tarball the way a user would,
 * `npm install -g`, into a prefix of its own (never the machine's global folder). The test of the
 * published package (`test/cli/published-package.test.ts`) and the bench's start-up section run
 * the command it installs.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_NAME } from '../src/core/package.ts';
import { ROOT } from './build-cli.ts';

const run = promisify(execFile);

/** What {@link packAndInstall} made. */
export interface InstalledPackage {
  /** The tarball `npm pack` wrote. */
  tarball: string;
  /** Paths in the tarball, relative to its `package/` folder, sorted. */
  files: string[];
  /** The prefix it is installed in (`<prefix>/bin/shelf`, `<prefix>/lib/node_modules/...`). */
  prefix: string;
  /** The installed `shelf` command. */
  bin: string;
  /** The installed package's folder. */
  packageDir: string;
  /** Folders in `<prefix>/lib/node_modules`: the package and anything npm installed with it. */
  installed: string[];
  /** Bytes of every file under `<prefix>/lib/node_modules`. */
  installedBytes: number;
  /** Bytes of the tarball. */
  tarballBytes: number;
}

/** A tarball `npm pack` wrote. */
export interface PackedPackage {
  tarball: string;
  /** Paths in the tarball, relative to its `package/` folder, sorted. */
  files: string[];
  /** Bytes of the tarball. */
  bytes: number;
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const QUIET = ['--no-audit', '--no-fund', '--loglevel=error'];

/**
 * Runs `npm pack` in a checkout (its `prepack` builds `dist/`).
 *
 * @param dir - An empty folder for the tarball.
 * @param root - The checkout; default this repository.
 */
export async function packPackage(dir: string, root: string = ROOT): Promise<PackedPackage> {
  await mkdir(dir, { recursive: true });
  await run(npm, ['pack', '--pack-destination', dir, ...QUIET], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
  const name = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (!name) throw new Error(`npm pack wrote no tarball into ${dir}`);
  const tarball = join(dir, name);
  const { stdout } = await run('tar', ['-tzf', tarball]);
  const files = stdout
    .split('\n')
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ''))
    .sort();
  return { tarball, files, bytes: statSync(tarball).size };
}

/**
 * Runs `npm pack` in the repository, then `npm install -g --prefix <dir>/prefix --offline
 * <tarball>`: offline, so it proves that nothing beyond the tarball is needed.
 *
 * @param dir - An empty folder for the tarball and the prefix.
 */
export async function packAndInstall(dir: string): Promise<InstalledPackage> {
  const packed = await packPackage(join(dir, 'pack'));
  return { ...(await installTarball(packed.tarball, join(dir, 'prefix'))), files: packed.files };
}

/**
 * `npm install -g --prefix <prefix> --offline <tarball>` of a tarball `npm pack` wrote (this
 * checkout's, or another build's, as the bench's start-up section compares them).
 */
export async function installTarball(tarball: string, prefix: string): Promise<Omit<InstalledPackage, 'files'>> {
  await mkdir(prefix, { recursive: true });
  await run(npm, ['install', '-g', '--prefix', prefix, '--offline', ...QUIET, tarball], { cwd: prefix });
  const modules = join(prefix, 'lib', 'node_modules');
  const installed = readdirSync(modules).flatMap((d) => (d.startsWith('@') ? readdirSync(join(modules, d)).map((s) => `${d}/${s}`) : [d]));
  return {
    tarball,
    prefix,
    bin: join(prefix, 'bin', 'shelf'),
    packageDir: join(modules, PACKAGE_NAME),
    installed: installed.sort(),
    installedBytes: folderBytes(modules),
    tarballBytes: statSync(tarball).size,
  };
}

function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += folderBytes(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}
