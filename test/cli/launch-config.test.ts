import { describe, expect, it } from 'vitest';
import { buildLaunchConfig, userConfigEnvName, type LaunchInputs } from '../../src/cli/launch-config.ts';

const inputs = (over: Partial<LaunchInputs> = {}): LaunchInputs => ({
  dirname: '/cache/unpacked/abc',
  platform: 'linux',
  pathSeparator: '/',
  systemDirs: { HOME: '/home/u', DESKTOP: '/home/u/Desktop', DOCUMENTS: '/home/u/Documents', DOWNLOADS: '/home/u/Downloads' },
  userValues: {},
  resolvePath: (p) => (p.startsWith("/") ? p : `/cwd/${p}`),
  ...over,
});

const manifest = (mcp: Record<string, unknown>, user_config?: Record<string, unknown>) => ({ server: { type: 'node', mcp_config: mcp }, ...(user_config ? { user_config } : {}) });

describe('buildLaunchConfig', () => {
  it('substitutes ${__dirname}, ${/} and system folders', () => {
    const cfg = buildLaunchConfig(manifest({ command: 'node', args: ['${__dirname}${/}server.js', '${DOCUMENTS}', '${UNKNOWN}'], env: { H: '${HOME}' } }), inputs());
    expect(cfg).toEqual({ command: 'node', args: ['/cache/unpacked/abc/server.js', '/home/u/Documents', '${UNKNOWN}'], env: { H: '/home/u' }, secrets: [] });
  });

  it('applies the platform override of the host only', () => {
    const m = manifest({ command: 'node', args: ['a'], env: { A: '1' }, platform_overrides: { win32: { command: 'node.exe' }, linux: { args: ['b'] } } });
    expect(buildLaunchConfig(m, inputs())).toMatchObject({ command: 'node', args: ['b'], env: { A: '1' } });
    expect(buildLaunchConfig(m, inputs({ platform: 'win32' }))).toMatchObject({ command: 'node.exe', args: ['a'] });
    expect(buildLaunchConfig(m, inputs({ platform: 'darwin' }))).toMatchObject({ command: 'node', args: ['a'] });
  });

  it('expands multiple values into arguments, joins them inside strings, drops unset optional ones', () => {
    const m = manifest(
      { command: 'x', args: ['${user_config.paths}', '--list=${user_config.paths}', '${user_config.optional}', '--opt=${user_config.optional}'] },
      {
        paths: { type: 'directory', title: 'P', description: 'd', multiple: true },
        optional: { type: 'string', title: 'O', description: 'd' },
      },
    );
    const cfg = buildLaunchConfig(m, inputs({ userValues: { paths: ['a', '/b'] } }));
    expect(cfg.args).toEqual(['/cwd/a', '/b', '--list=/cwd/a,/b', '--opt=']);
  });

  it('applies defaults, expanding system variables in them but not in user input', () => {
    const m = manifest(
      { command: 'x', args: ['${user_config.dir}', '${user_config.flag}', '${user_config.text}'] },
      {
        dir: { type: 'directory', title: 'D', description: 'd', default: '${HOME}/notes' },
        flag: { type: 'boolean', title: 'F', description: 'd', default: false },
        text: { type: 'string', title: 'T', description: 'd' },
      },
    );
    expect(buildLaunchConfig(m, inputs()).args).toEqual(['/home/u/notes', 'false']);
    expect(buildLaunchConfig(m, inputs({ userValues: { flag: ['yes'], text: ['${HOME}'] } })).args).toEqual(['/home/u/notes', 'true', '${HOME}']);
  });

  it('lists every missing required key at once', () => {
    const m = manifest({ command: 'x' }, { a: { type: 'string', title: 'A', description: 'a', required: true }, b: { type: 'number', title: 'B', description: 'b', required: true } });
    expect(() => buildLaunchConfig(m, inputs())).toThrowError(expect.objectContaining({ code: 'missing_user_config', details: { missing: ['a', 'b'] } }));
    // An empty value is no value.
    expect(() => buildLaunchConfig(m, inputs({ userValues: { a: [''], b: ['1'] } }))).toThrowError(expect.objectContaining({ code: 'missing_user_config' }));
  });

  it('refuses several values for a single key, and manifests without a command', () => {
    const m = manifest({ command: 'x' }, { a: { type: 'string', title: 'A', description: 'a' } });
    expect(() => buildLaunchConfig(m, inputs({ userValues: { a: ['1', '2'] } }))).toThrowError(expect.objectContaining({ code: 'invalid_user_config' }));
    expect(() => buildLaunchConfig({ server: {} }, inputs())).toThrowError(expect.objectContaining({ code: 'invalid_manifest' }));
    expect(() => buildLaunchConfig(manifest({ command: 'x', args: 'not-an-array' }), inputs())).toThrowError(expect.objectContaining({ code: 'invalid_manifest' }));
  });

  it('names the environment variable of a key', () => {
    expect(userConfigEnvName('api_key')).toBe('SHELF_CONFIG_API_KEY');
    expect(userConfigEnvName('base-url')).toBe('SHELF_CONFIG_BASE_URL');
  });
});
