/**
 * The `shelf` command: parses the command line, dispatches to a command, and turns errors into
 * messages and exit codes. `bin/shelf.js` calls {@link main}; tests call it directly with an
 * injected {@link CliIo}.
 *
 * Exit codes: 0 success, 1 error (`error[<code>]: <message>` on stderr), 2 usage error
 * (unknown command or flag, bad flag value).
 *
 * @module
 */
import { ShelfError, isShelfError } from '../core/errors.ts';
import type { Kind } from '../core/names.ts';
import type { RegistryClient } from '../client/registry-client.ts';
import { hostPlatform } from '../client/platform.ts';
import { DEFAULT_REGISTRY, usageError, type CliIo, type CommandContext } from './common.ts';
import { readBoundsFromEnv } from '../core/read-bounds.ts';
import { createCachingFetch, resolveCacheDir } from './cache.ts';
import { createHttpTransport } from '../net/http-transport.ts';
import { colorEnabled, createStyle } from './style.ts';

export type { CliIo } from './common.ts';

const HELP = `Usage: shelf <command> [options]

Reads, runs, installs and publishes MCP bundles (.mcpb) and agent skills (.skill) of a Shelf registry.

Commands:
  search [words...]                   Search bundles (same as "shelf bundle search")
  bundle search [words...]            Search bundles
  bundle show <@scope/name[@v]>       Show a bundle: versions, tools, provenance
  bundle pull <@scope/name[@v]>       Download a bundle for this platform, verified
  bundle run <@scope/name[@v]>        Start a bundle's MCP server over stdio (cached, verified)
  bundle outdated                     List cached bundles the registry has newer versions of
  bundle update [@scope/name[@v]]     Update cached bundles to the newest version in their range
  bundle verify <@scope/name[@v]>     Verify a bundle's Sigstore attestation (GitHub), offline
  skill search [words...]             Search skills
  skill show <@scope/name[@v]>        Show a skill
  skill pull <@scope/name[@v]>        Download a skill, verified
  skill install <@scope/name[@v]>     Install a skill into ~/.claude/skills (or --dir)
  skill pack [dir]                    Pack a skill folder (SKILL.md) into a .skill archive
  trust                               Pin the registry's current signing keys again (after a key change)
  announce <file>                     Publish a released artifact from GitHub Actions (OIDC)
  yank <@scope/name@v>                Yank a version from GitHub Actions: ranges skip it (OIDC)
  unyank <@scope/name@v>              Undo a yank
  deprecate <@scope/name[@v]>         Deprecate a version or a package, with a message (OIDC)
  undeprecate <@scope/name[@v]>       Undo a deprecation
  serve                               Run a registry server ("shelf serve --help")
  rebuild [@scope/name]               Recompute the bucket's derived files from its records
  takedown <@scope/name[@v]>          Operator: remove a version or package, purge the CDN
  check                               List derived files that disagree with the records
  gc                                  Delete search index files no root reaches any more
  compact                             Merge the search index's recent announces into its base
  quota @scope                        Show or set a scope's daily announce quotas
  downloads                           Count downloads (from CDN logs) and publish the counts
  help [command...]                   Show help for a command

Global options (before or after the command):
  --registry URL   Registry base URL (default: $SHELF_REGISTRY, else ${DEFAULT_REGISTRY})
  --offline        Read documents and artifacts from the local cache only (also SHELF_OFFLINE=1)
  -h, --help       Show help; "shelf <command> --help" shows a command's options
  -v, --version    Print the version of shelf

Read commands take --json for stable machine-readable output; text is coloured on a terminal
unless NO_COLOR is set. Documents are cached in $SHELF_CACHE_DIR (default
$XDG_CACHE_HOME/shelf or ~/.cache/shelf) and revalidated with ETags.

Exit codes: 0 success, 1 error, 2 usage error (a bundle run exits with its server's status).`;

const KIND_HELP = (kind: Kind): string =>
  kind === 'bundle'
    ? `Usage: shelf bundle <search|show|pull|run|outdated|update|verify> [options]

Commands:
  search [words...]               Search bundles
  show <@scope/name[@v]>          Show a bundle
  pull <@scope/name[@v]>          Download a bundle, verified (--cache keeps it in the cache)
  run <@scope/name[@v]>           Start a bundle's MCP server over stdio
  outdated                        List cached bundles that have newer versions
  update [@scope/name[@v]]        Update cached bundles
  verify <@scope/name[@v]>        Verify a bundle's Sigstore attestation, independently of the registry

Run "shelf bundle <command> --help" for a command's options.`
    : `Usage: shelf skill <search|show|pull|install|pack> [options]

Commands:
  search [words...]               Search skills
  show <@scope/name[@v]>          Show a skill
  pull <@scope/name[@v]>          Download a skill, verified
  install <@scope/name[@v]>       Install a skill into ~/.claude/skills (or --dir)
  pack [dir]                      Pack a skill folder (SKILL.md) into a .skill archive

Run "shelf skill <command> --help" for a command's options.`;

/**
 * Every command, by kind, loaded only when it runs: start-up parses this file and the few small
 * modules above, so `shelf --help` never loads the client, the search engine or the packers.
 */
type Command = (kind: Kind, args: string[], ctx: CommandContext) => Promise<number>;
const KIND_COMMANDS: Record<Kind, Record<string, Command>> = {
  bundle: {
    search: async (kind, args, ctx) => (await import('./search.ts')).searchCommand(kind, args, ctx),
    show: async (kind, args, ctx) => (await import('./show.ts')).showCommand(kind, args, ctx),
    pull: async (kind, args, ctx) => (await import('./pull.ts')).pullCommand(kind, args, ctx),
    run: async (_kind, args, ctx) => (await import('./run.ts')).runCommand(args, ctx),
    outdated: async (_kind, args, ctx) => (await import('./outdated.ts')).outdatedCommand(args, ctx),
    update: async (_kind, args, ctx) => (await import('./outdated.ts')).updateCommand(args, ctx),
    verify: async (_kind, args, ctx) => (await import('./verify.ts')).verifyCommand(args, ctx),
  },
  skill: {
    search: async (kind, args, ctx) => (await import('./search.ts')).searchCommand(kind, args, ctx),
    show: async (kind, args, ctx) => (await import('./show.ts')).showCommand(kind, args, ctx),
    pull: async (kind, args, ctx) => (await import('./pull.ts')).pullCommand(kind, args, ctx),
    install: async (_kind, args, ctx) => (await import('./install.ts')).installCommand(args, ctx),
    pack: async (_kind, args, ctx) => (await import('./pack-skill.ts')).packCommand(args, ctx),
  },
};

/**
 * Runs the `shelf` command line.
 *
 * @param argv - Arguments after the program name (`process.argv.slice(2)`).
 * @param io - Output streams, working directory and environment; defaults to the process's.
 * @returns The exit code. Never calls `process.exit`.
 */
export async function main(argv: string[], io?: CliIo): Promise<number> {
  const stdout = io?.stdout ?? ((s: string) => void process.stdout.write(s));
  const stderr = io?.stderr ?? ((s: string) => void process.stderr.write(s));
  try {
    const ctx = makeContext(stdout, stderr, io);
    return await dispatch(argv, ctx);
  } catch (error) {
    if (isShelfError(error)) {
      stderr(`error[${error.code}]: ${error.message}\n`);
      return error.code === 'invalid_argument' ? 2 : 1;
    }
    const message = error instanceof Error ? error.message : String(error);
    stderr(`error[internal_error]: ${message}\n`);
    return 1;
  }
}

function makeContext(stdout: (s: string) => void, stderr: (s: string) => void, io: CliIo | undefined): CommandContext {
  const env = io?.env ?? process.env;
  const ctx: CommandContext = {
    out: (s) => stdout(`${s}\n`),
    err: (s) => stderr(`${s}\n`),
    cwd: io?.cwd ?? process.cwd(),
    env,
    globalRegistry: undefined,
    globalOffline: env.SHELF_OFFLINE === '1' || env.SHELF_OFFLINE === 'true',
    // Real streams when nothing is injected; injected I/O is not a terminal unless it says so.
    style: createStyle(colorEnabled(io ? io.isTTY?.stdout === true : process.stdout.isTTY === true, env)),
    errStyle: createStyle(colorEnabled(io ? io.isTTY?.stderr === true : process.stderr.isTTY === true, env)),
    stderrIsTTY: io ? io.isTTY?.stderr === true : process.stderr.isTTY === true,
    writeErr: stderr,
    cacheDir: resolveCacheDir(env),
    sleep: io?.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    host: hostPlatform(process.platform, process.arch),
    registryUrl: (commandRegistry) =>
      (commandRegistry ?? ctx.globalRegistry ?? (env.SHELF_REGISTRY || undefined) ?? DEFAULT_REGISTRY).replace(/\/+$/, ''),
    client: () => {
      throw new Error('the registry client is loaded by dispatch before any command runs');
    },
  };
  return ctx;
}

/** Gives the context its client factory; the client (and the schemas it parses with) loads here, not at start-up. */
async function loadClient(ctx: CommandContext): Promise<void> {
  const { RegistryClient: Client } = await import('../client/registry-client.ts');
  const { filePins } = await import('./trust-pins.ts');
  ctx.client = (commandRegistry, options = {}): RegistryClient => {
    const baseUrl = ctx.registryUrl(commandRegistry);
    const offline = options.offline === true || ctx.globalOffline;
    // SHELF_MAX_DOCUMENT_BYTES, SHELF_CONNECT_TIMEOUT_MS, SHELF_IDLE_TIMEOUT_MS.
    const bounds = readBoundsFromEnv(ctx.env);
    // The registry's keys, pinned on first use, are kept with the cache (`trust-pins.ts`).
    const pins = filePins(ctx.cacheDir, baseUrl);
    // node:http rather than fetch (whose start-up costs more than a command's few small reads);
    // redirects only within the registry's own host. A base URL that is no URL is refused by the
    // client itself, before any request.
    const network = createHttpTransport({ allowedHosts: URL.canParse(baseUrl) ? [new URL(baseUrl).host] : [] });
    if (ctx.cacheDir === null) {
      if (offline) throw new ShelfError('cache_unavailable', '--offline needs a cache directory: set SHELF_CACHE_DIR (or XDG_CACHE_HOME or HOME).');
      return new Client({ baseUrl, bounds, pins, fetch: network });
    }
    return new Client({ baseUrl, bounds, pins, fetch: createCachingFetch({ dir: ctx.cacheDir, offline, bounds, fetch: network }) });
  };
}

/**
 * Whether a command may send requests with `fetch`: downloads, announces, the server's outbound
 * requests. Help, searches and `show` read over `node:http` only (`net/http-transport.ts`).
 */
function usesFetch(command: string | undefined, sub: string | undefined): boolean {
  if (command === undefined || command === 'help' || command === 'search') return false;
  if (command === 'bundle' || command === 'skill') return sub !== undefined && sub !== 'search' && sub !== 'show' && !sub.startsWith('-');
  return true;
}

/**
 * Node.js 20's fetch parses HTTP with WebAssembly whose optimising compile, started in the
 * background, holds the process ~200 ms at exit after any request. Baseline code is plenty for
 * the few responses of a command (measured by the bench's start-up section). Set only before a
 * command that may fetch: loading `node:v8` costs the others their start-up.
 */
async function tuneFetch(): Promise<void> {
  if (process.versions.node.startsWith('20.')) (await import('node:v8')).setFlagsFromString('--liftoff-only');
}

async function dispatch(argv: string[], ctx: CommandContext): Promise<number> {
  // Options before the command word: only the global ones are allowed there.
  let i = 0;
  for (; i < argv.length && argv[i]!.startsWith('-'); i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      ctx.out(HELP);
      return 0;
    } else if (arg === '-v' || arg === '--version') {
      ctx.out(await version());
      return 0;
    } else if (arg === '--registry') {
      const value = argv[++i];
      if (value === undefined) throw usageError('shelf', "option '--registry <value>' argument missing");
      ctx.globalRegistry = value;
    } else if (arg.startsWith('--registry=')) {
      ctx.globalRegistry = arg.slice('--registry='.length);
    } else if (arg === '--offline') {
      ctx.globalOffline = true;
    } else {
      throw usageError('shelf', `unknown option '${arg}'`);
    }
  }
  const [command, ...rest] = argv.slice(i);
  if (usesFetch(command, rest[0])) await tuneFetch();

  switch (command) {
    case undefined:
      ctx.err(HELP);
      return 2;
    case 'help':
      ctx.out(await help(rest, ctx));
      return 0;
    case 'search':
      await loadClient(ctx);
      return KIND_COMMANDS.bundle.search!('bundle', rest, ctx);
    case 'bundle':
    case 'skill': {
      const [sub, ...subArgs] = rest;
      if (sub === undefined || sub === '-h' || sub === '--help') {
        (sub === undefined ? ctx.err : ctx.out)(KIND_HELP(command));
        return sub === undefined ? 2 : 0;
      }
      const run = Object.hasOwn(KIND_COMMANDS[command], sub) ? KIND_COMMANDS[command][sub] : undefined;
      if (!run) throw usageError(`shelf ${command}`, `unknown command "${command} ${sub}"`);
      await loadClient(ctx);
      return run(command, subArgs, ctx);
    }
    case 'trust': {
      await loadClient(ctx);
      const { trustCommand } = await import('./trust.ts');
      return trustCommand(rest, ctx);
    }
    case 'announce': {
      await loadClient(ctx);
      const { announceCommand } = await import('./announce.ts');
      return announceCommand(rest, ctx);
    }
    case 'yank':
    case 'unyank':
    case 'deprecate':
    case 'undeprecate': {
      await loadClient(ctx);
      const { statusCommand } = await import('./status.ts');
      return statusCommand(command, rest, ctx);
    }
    case 'serve': {
      // The global --registry means nothing to the server; it gets everything after "serve",
      // and the injected environment.
      const { serveCommand } = await import('./serve.ts');
      return serveCommand(rest, ctx.env);
    }
    case 'rebuild': {
      // Operator commands on the bucket itself.
      const { rebuildCommand } = await import('./rebuild.ts');
      return rebuildCommand(rest, ctx);
    }
    case 'check': {
      const { checkCommand } = await import('./check.ts');
      return checkCommand(rest, ctx);
    }
    case 'quota': {
      const { quotaCommand } = await import('./quota.ts');
      return quotaCommand(rest, ctx);
    }
    case 'gc': {
      const { gcCommand } = await import('./gc.ts');
      return gcCommand(rest, ctx);
    }
    case 'compact': {
      const { compactCommand } = await import('./compact.ts');
      return compactCommand(rest, ctx);
    }
    case 'downloads': {
      const { downloadsCommand } = await import('./downloads.ts');
      return downloadsCommand(rest, ctx);
    }
    case 'takedown': {
      const { takedownCommand } = await import('./takedown.ts');
      return takedownCommand(rest, ctx);
    }
    default:
      throw usageError('shelf', `unknown command "${command}"`);
  }
}

/** The help text `shelf help <topic...>` prints; a command's module is loaded for its own help. */
async function help(topic: string[], ctx: CommandContext): Promise<string> {
  const [first, second] = topic;
  const kind: Kind | undefined = first === 'bundle' || first === 'skill' ? first : undefined;
  if (first === undefined) return HELP;
  if (first === 'search') return (await import('./search.ts')).searchHelp('bundle');
  if (kind && second === undefined) return KIND_HELP(kind);
  if (kind && second === 'search') return (await import('./search.ts')).searchHelp(kind);
  if (kind && second === 'show') return (await import('./show.ts')).showHelp(kind);
  if (kind && second === 'pull') return (await import('./pull.ts')).pullHelp(kind, ctx.host);
  if (kind === 'bundle' && second === 'run') return (await import('./run.ts')).runHelp(ctx.host);
  if (kind === 'bundle' && second === 'outdated') return (await import('./outdated.ts')).outdatedHelp();
  if (kind === 'bundle' && second === 'update') return (await import('./outdated.ts')).updateHelp();
  if (kind === 'bundle' && second === 'verify') return (await import('./verify.ts')).verifyHelp(ctx.host);
  if (kind === 'skill' && second === 'install') return (await import('./install.ts')).installHelp();
  if (kind === 'skill' && second === 'pack') return (await import('./pack-skill.ts')).packHelp();
  if (first === 'announce') return (await import('./announce.ts')).announceHelp();
  if (first === 'trust') return (await import('./trust.ts')).TRUST_HELP;
  if (first === 'yank' || first === 'unyank' || first === 'deprecate' || first === 'undeprecate') return (await import('./status.ts')).statusHelp(first);
  if (first === 'takedown') return (await import('./takedown.ts')).TAKEDOWN_HELP;
  if (first === 'serve' || first === 'rebuild' || first === 'check' || first === 'gc' || first === 'compact' || first === 'quota' || first === 'downloads') return `Run "shelf ${first} --help".`;
  throw new ShelfError('invalid_argument', `No help for "${topic.join(' ')}". Run "shelf --help".`);
}

/**
 * The version of the package this command belongs to. `package.json` is two folders up both from
 * the sources (`src/cli/`) and from the compiled command line (`dist/cli/`).
 */
async function version(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
