/**
 * How to start a bundle's MCP server, computed from its `manifest.json` (pure: no I/O).
 *
 * Follows the MCPB rules that hosts such as Claude Desktop apply:
 * - `server.mcp_config` gives `command`, `args` and `env`; `platform_overrides[<platform>]`
 *   replaces any of the three for the host platform (`darwin`, `linux`, `win32`).
 * - `${__dirname}` is the unpacked bundle directory; `${HOME}`, `${DESKTOP}`, `${DOCUMENTS}`,
 *   `${DOWNLOADS}`, `${pathSeparator}` and `${/}` are the usual system values.
 * - `${user_config.KEY}` is the user's value for a key the manifest declares under
 *   `user_config`; defaults apply, required keys must be given; an argument that is exactly
 *   `${user_config.KEY}` of a `multiple` key expands to one argument per value; booleans are
 *   `true`/`false`.
 *
 * Unlike hosts that leave an unset optional `${user_config.KEY}` in place, an argument that is
 * exactly that placeholder is dropped and an embedded one becomes empty, so a server never sees
 * a literal `${...}`. Unknown variables are left as they are.
 *
 * @module
 */
import { ShelfError } from '../core/errors.ts';

/** One `user_config` declaration of a manifest. */
export interface UserConfigOption {
  type: 'string' | 'number' | 'boolean' | 'directory' | 'file';
  title?: string;
  description?: string;
  required?: boolean;
  default?: string | number | boolean | string[];
  multiple?: boolean;
  sensitive?: boolean;
  min?: number;
  max?: number;
}

/** The process to start. */
export interface LaunchConfig {
  command: string;
  args: string[];
  /** Variables to add to the inherited environment. */
  env: Record<string, string>;
  /** Values that must not be shown (from `sensitive` user_config keys). */
  secrets: string[];
}

/** Inputs of {@link buildLaunchConfig}. */
export interface LaunchInputs {
  /** The unpacked bundle directory (`${__dirname}`). */
  dirname: string;
  /** `process.platform` of the host (selects `platform_overrides`). */
  platform: string;
  /** `/` or `\`. */
  pathSeparator: string;
  /** `HOME`, `DESKTOP`, `DOCUMENTS`, `DOWNLOADS` (absolute paths). */
  systemDirs: Record<string, string>;
  /**
   * Raw user values by key, as strings (several for a `multiple` key). Typed and checked here
   * against the declarations.
   */
  userValues: Record<string, string[]>;
  /** Resolves a `directory`/`file` value to an absolute path (relative to the working directory). */
  resolvePath: (value: string) => string;
}

/**
 * Computes the command, arguments and environment that start a bundle's server.
 *
 * @param manifest - The bundle's `manifest.json` (as parsed JSON; checked here).
 * @throws ShelfError `invalid_manifest` (no usable `server.mcp_config`, malformed `user_config`),
 *   `invalid_argument` (a value for a key the manifest does not declare),
 *   `invalid_user_config` (a value of the wrong type or out of range, several values for a
 *   single key), `missing_user_config` (required keys without a value; all are listed).
 */
export function buildLaunchConfig(manifest: unknown, inputs: LaunchInputs): LaunchConfig {
  const m = isObject(manifest) ? manifest : {};
  const server = isObject(m.server) ? m.server : undefined;
  const base = server && isObject(server.mcp_config) ? server.mcp_config : undefined;
  if (!base || typeof base.command !== 'string' || base.command === '') {
    throw new ShelfError('invalid_manifest', 'The bundle manifest has no server.mcp_config.command; shelf cannot start it.');
  }
  let command = base.command;
  let args = stringArray(base.args, 'server.mcp_config.args');
  let env = stringRecord(base.env, 'server.mcp_config.env');
  const overrides = isObject(base.platform_overrides) ? base.platform_overrides : {};
  const override = Object.hasOwn(overrides, inputs.platform) ? overrides[inputs.platform] : undefined;
  if (isObject(override)) {
    if (typeof override.command === 'string' && override.command !== '') command = override.command;
    if (override.args !== undefined) args = stringArray(override.args, `platform_overrides.${inputs.platform}.args`);
    if (override.env !== undefined) env = stringRecord(override.env, `platform_overrides.${inputs.platform}.env`);
  }

  const system: Record<string, string> = {
    __dirname: inputs.dirname,
    pathSeparator: inputs.pathSeparator,
    '/': inputs.pathSeparator,
    ...inputs.systemDirs,
  };
  const { values, secrets } = resolveUserConfig(m.user_config, inputs, system);
  const lookup = (name: string): string[] | undefined => {
    if (Object.hasOwn(system, name)) return [system[name]!];
    if (name.startsWith('user_config.')) return values.get(name.slice('user_config.'.length)) ?? [];
    return undefined;
  };

  const expandedArgs: string[] = [];
  for (const arg of args) {
    const whole = /^\$\{(user_config\.[^}]+)\}$/.exec(arg);
    if (whole) expandedArgs.push(...(lookup(whole[1]!) ?? [arg]));
    else expandedArgs.push(substitute(arg, lookup));
  }
  const expandedEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) expandedEnv[key] = substitute(value, lookup);
  return { command: substitute(command, lookup), args: expandedArgs, env: expandedEnv, secrets };
}

/** Replaces `${name}` occurrences; several values join with commas, unknown names stay. */
function substitute(text: string, lookup: (name: string) => string[] | undefined): string {
  return text.replace(/\$\{([^}]+)\}/g, (match, name: string) => {
    const value = lookup(name);
    return value === undefined ? match : value.join(',');
  });
}

function resolveUserConfig(
  declared: unknown,
  inputs: LaunchInputs,
  system: Record<string, string>,
): { values: Map<string, string[]>; secrets: string[] } {
  if (declared !== undefined && !isObject(declared)) throw new ShelfError('invalid_manifest', 'The manifest user_config must be an object.');
  const options = (declared ?? {}) as Record<string, unknown>;
  const keys = Object.keys(options);
  for (const key of Object.keys(inputs.userValues)) {
    if (!Object.hasOwn(options, key)) {
      throw new ShelfError(
        'invalid_argument',
        `The bundle declares no user_config "${key}"${keys.length > 0 ? `; it declares: ${keys.join(', ')}` : ' (it takes no configuration)'}.`,
      );
    }
  }
  const values = new Map<string, string[]>();
  const secrets: string[] = [];
  const missing: string[] = [];
  for (const key of keys) {
    const raw = options[key];
    if (!isObject(raw) || typeof raw.type !== 'string') {
      throw new ShelfError('invalid_manifest', `The manifest user_config "${key}" has no type.`);
    }
    const option = raw as unknown as UserConfigOption;
    let given = Object.hasOwn(inputs.userValues, key) ? inputs.userValues[key]! : undefined;
    let fromDefault = false;
    if (given === undefined || given.length === 0) {
      if (option.default !== undefined) {
        // Defaults may use system variables ("${HOME}/Documents"); user input is taken literally.
        const defaults = Array.isArray(option.default) ? option.default : [option.default];
        given = defaults.map((d) => String(d).replace(/\$\{([^}]+)\}/g, (m, n: string) => (Object.hasOwn(system, n) ? system[n]! : m)));
        fromDefault = true;
      } else {
        if (option.required) missing.push(key);
        continue;
      }
    }
    if (given.length > 1 && !option.multiple) {
      throw new ShelfError('invalid_user_config', `user_config "${key}" takes one value; got ${given.length}.`);
    }
    const typed = given.map((value) => checkValue(key, option, value, inputs, fromDefault));
    if (option.required && typed.every((v) => v === '')) {
      missing.push(key);
      continue;
    }
    values.set(key, typed);
    if (option.sensitive) secrets.push(...typed.filter((v) => v !== ''));
  }
  if (missing.length > 0) {
    const lines = missing.map((key) => {
      const o = options[key] as UserConfigOption;
      const about = [o.title, o.description].filter(Boolean).join(': ');
      return `  ${key}${about ? ` (${about})` : ''}: --config ${key}=VALUE or ${userConfigEnvName(key)}=VALUE`;
    });
    throw new ShelfError('missing_user_config', `The bundle needs configuration that was not given:\n${lines.join('\n')}`, { missing });
  }
  return { values, secrets };
}

function checkValue(key: string, option: UserConfigOption, value: string, inputs: LaunchInputs, fromDefault: boolean): string {
  switch (option.type) {
    case 'number': {
      const n = value.trim() === '' ? NaN : Number(value);
      if (!Number.isFinite(n)) throw new ShelfError('invalid_user_config', `user_config "${key}" must be a number; got "${value}".`);
      if (option.min !== undefined && n < option.min) throw new ShelfError('invalid_user_config', `user_config "${key}" must be at least ${option.min}; got ${n}.`);
      if (option.max !== undefined && n > option.max) throw new ShelfError('invalid_user_config', `user_config "${key}" must be at most ${option.max}; got ${n}.`);
      return String(n);
    }
    case 'boolean': {
      const v = value.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return 'true';
      if (['false', '0', 'no', 'off'].includes(v)) return 'false';
      throw new ShelfError('invalid_user_config', `user_config "${key}" must be true or false; got "${value}".`);
    }
    case 'directory':
    case 'file':
      // A relative path means "relative to where I ran the command", not to the bundle.
      return value === '' || fromDefault ? value : inputs.resolvePath(value);
    case 'string':
      return value;
    default:
      throw new ShelfError('invalid_manifest', `The manifest user_config "${key}" has an unknown type "${String(option.type)}".`);
  }
}

/** The environment variable that supplies a user_config key: `SHELF_CONFIG_<KEY>`, upper-cased, non-alphanumerics as `_`. */
export function userConfigEnvName(key: string): string {
  return `SHELF_CONFIG_${key.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringArray(value: unknown, where: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new ShelfError('invalid_manifest', `The manifest's ${where} must be an array of strings.`);
  }
  return value as string[];
}

function stringRecord(value: unknown, where: string): Record<string, string> {
  if (value === undefined) return {};
  if (!isObject(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw new ShelfError('invalid_manifest', `The manifest's ${where} must map names to strings.`);
  }
  return { ...(value as Record<string, string>) };
}
