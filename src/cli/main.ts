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
import { RegistryClient } from '../client/registry-client.ts';
import { hostPlatform } from '../client/platform.ts';
import { DEFAULT_REGISTRY, usageError, type CliIo, type CommandContext } from './common.ts';
import { pullCommand, pullHelp } from './pull.ts';
import { searchCommand, searchHelp } from './search.ts';
import { showCommand, showHelp } from './show.ts';

export type { CliIo } from './common.ts';

const HELP = `Usage: shelf <command> [options]

Reads a Shelf registry of MCP bundles (.mcpb) and agent skills (.skill).

Commands:
  search [words...]                   Search bundles (same as "shelf bundle search")
  bundle search [words...]            Search bundles
  bundle show <@scope/name[@v]>       Show a bundle: versions, tools, provenance
  bundle pull <@scope/name[@v]>       Download a bundle for this platform, verified
  skill search [words...]             Search skills
  skill show <@scope/name[@v]>        Show a skill
  skill pull <@scope/name[@v]>        Download a skill, verified
  serve                               Run a registry server ("shelf serve --help")
  help [command...]                   Show help for a command

Global options (before or after the command):
  --registry URL   Registry base URL (default: $SHELF_REGISTRY, else ${DEFAULT_REGISTRY})
  -h, --help       Show help; "shelf <command> --help" shows a command's options

Exit codes: 0 success, 1 error, 2 usage error.`;

const KIND_HELP = (kind: Kind): string => `Usage: shelf ${kind} <search|show|pull> [options]

Commands:
  search [words...]               Search ${kind}s
  show <@scope/name[@v]>          Show a ${kind}
  pull <@scope/name[@v]>          Download a ${kind}, verified

Run "shelf ${kind} <command> --help" for a command's options.`;

type Subcommand = (kind: Kind, args: string[], ctx: CommandContext) => Promise<number>;
const SUBCOMMANDS: Record<string, Subcommand> = { search: searchCommand, show: showCommand, pull: pullCommand };

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
    host: hostPlatform(process.platform, process.arch),
    client: (commandRegistry) => {
      const baseUrl = commandRegistry ?? ctx.globalRegistry ?? (env.SHELF_REGISTRY || undefined) ?? DEFAULT_REGISTRY;
      return new RegistryClient({ baseUrl });
    },
  };
  return ctx;
}

async function dispatch(argv: string[], ctx: CommandContext): Promise<number> {
  // Options before the command word: only the global ones are allowed there.
  let i = 0;
  for (; i < argv.length && argv[i]!.startsWith('-'); i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      ctx.out(HELP);
      return 0;
    } else if (arg === '--registry') {
      const value = argv[++i];
      if (value === undefined) throw usageError('shelf', "option '--registry <value>' argument missing");
      ctx.globalRegistry = value;
    } else if (arg.startsWith('--registry=')) {
      ctx.globalRegistry = arg.slice('--registry='.length);
    } else {
      throw usageError('shelf', `unknown option '${arg}'`);
    }
  }
  const [command, ...rest] = argv.slice(i);

  switch (command) {
    case undefined:
      ctx.err(HELP);
      return 2;
    case 'help':
      return help(rest, ctx);
    case 'search':
      return searchCommand('bundle', rest, ctx);
    case 'bundle':
    case 'skill': {
      const [sub, ...subArgs] = rest;
      if (sub === undefined || sub === '-h' || sub === '--help') {
        (sub === undefined ? ctx.err : ctx.out)(KIND_HELP(command));
        return sub === undefined ? 2 : 0;
      }
      const run = Object.hasOwn(SUBCOMMANDS, sub) ? SUBCOMMANDS[sub] : undefined;
      if (!run) throw usageError(`shelf ${command}`, `unknown command "${command} ${sub}"`);
      return run(command, subArgs, ctx);
    }
    case 'serve': {
      // ---- HOOK: serve -------------------------------------------------------------------
      // `src/cli/serve.ts` (another module) exports `serveCommand(args, env?)`. Imported lazily
      // so search/show/pull never load the server. The global --registry means nothing to the
      // server; it gets everything after "serve", and the injected environment.
      const { serveCommand } = await import('./serve.ts');
      return serveCommand(rest, ctx.env);
      // ---- end HOOK ----------------------------------------------------------------------
    }
    default:
      throw usageError('shelf', `unknown command "${command}"`);
  }
}

function help(topic: string[], ctx: CommandContext): number {
  const [first, second] = topic;
  const kind: Kind | undefined = first === 'bundle' || first === 'skill' ? first : undefined;
  if (first === undefined) ctx.out(HELP);
  else if (first === 'search') ctx.out(searchHelp('bundle'));
  else if (kind && second === undefined) ctx.out(KIND_HELP(kind));
  else if (kind && second === 'search') ctx.out(searchHelp(kind));
  else if (kind && second === 'show') ctx.out(showHelp(kind));
  else if (kind && second === 'pull') ctx.out(pullHelp(kind, ctx.host));
  else if (first === 'serve') ctx.out('Run "shelf serve --help".');
  else throw new ShelfError('invalid_argument', `No help for "${topic.join(' ')}". Run "shelf --help".`);
  return 0;
}
