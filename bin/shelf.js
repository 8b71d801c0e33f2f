#!/usr/bin/env node
// The `shelf` command. In a checkout of the repository it runs the TypeScript sources through tsx,
// so a fresh clone needs no build step; the published package has no sources, only the compiled
// dist/cli/ (`npm run build:cli`, which `npm pack` runs).
import { existsSync } from 'node:fs';
import module from 'node:module';

let main;
if (existsSync(new URL('../src/cli/main.ts', import.meta.url))) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
} else {
  // Node.js 22.1+ keeps the compiled code between runs (in the OS's temporary folder): agent
  // hosts start `shelf bundle run` for every server they launch.
  module.enableCompileCache?.();
  ({ main } = await import('../dist/cli/main.js'));
}
process.exitCode = await main(process.argv.slice(2));
