// @acme/sysinfo: a dependency-free MCP server (newline-delimited JSON-RPC 2.0 over stdio).
//
// Published once per platform. The source is the same for every platform; the packer
// (src/dev/pack.ts, `packBundle(dir, out, { os })`) copies this folder, writes
// `platform.json` = {"os": "<os>"} next to manifest.json and narrows
// `compatibility.platforms` to that one os, so each platform gets its own, different
// artifact. A real package would ship a per-platform binary here instead.
import { readFileSync } from 'node:fs';
import { hostname, uptime } from 'node:os';
import { createInterface } from 'node:readline';

const manifest = JSON.parse(readFileSync(new URL('../manifest.json', import.meta.url), 'utf8'));
let builtFor = null;
try {
  builtFor = JSON.parse(readFileSync(new URL('../platform.json', import.meta.url), 'utf8')).os ?? null;
} catch {
  // Unpacked source checkout: no platform.json.
}
if (builtFor && builtFor !== process.platform) {
  process.stderr.write(`sysinfo: this build is for ${builtFor} but is running on ${process.platform}\n`);
}

const noInput = { type: 'object', properties: {} };

function formatDuration(seconds) {
  const s = Math.floor(seconds);
  const parts = [[Math.floor(s / 86400), 'd'], [Math.floor((s % 86400) / 3600), 'h'], [Math.floor((s % 3600) / 60), 'm'], [s % 60, 's']];
  return parts.filter(([n], i) => n > 0 || i === parts.length - 1).map(([n, unit]) => `${n}${unit}`).join(' ');
}

const tools = {
  hostname: { description: 'Returns the host name of the machine.', inputSchema: noInput, run: () => hostname() },
  uptime: { description: 'Returns how long the machine has been up.', inputSchema: noInput, run: () => `up ${formatDuration(uptime())}` },
};

// ---- Minimal MCP stdio protocol (same few lines in every example server) ----
const send = (message) => process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
const methods = {
  initialize: (params) => ({
    protocolVersion: typeof params.protocolVersion === 'string' ? params.protocolVersion : '2025-06-18',
    capabilities: { tools: {} },
    serverInfo: { name: manifest.name, version: manifest.version },
  }),
  ping: () => ({}),
  'tools/list': () => ({
    tools: Object.entries(tools).map(([name, t]) => ({ name, description: t.description, inputSchema: t.inputSchema })),
  }),
  'tools/call': (params) => {
    const tool = Object.hasOwn(tools, params.name) ? tools[params.name] : undefined;
    if (!tool) throw Object.assign(new Error(`Unknown tool: ${params.name}`), { code: -32602 });
    return { content: [{ type: 'text', text: String(tool.run(params.arguments ?? {})) }] };
  },
};
createInterface({ input: process.stdin }).on('line', (line) => {
  if (!line.trim()) return;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    return send({ id: null, error: { code: -32700, message: 'Parse error' } });
  }
  if (msg === null || typeof msg !== 'object' || msg.id === undefined) return; // notifications get no reply
  if (!Object.hasOwn(methods, msg.method)) return send({ id: msg.id, error: { code: -32601, message: `Method not found: ${msg.method}` } });
  try {
    send({ id: msg.id, result: methods[msg.method](msg.params ?? {}) });
  } catch (err) {
    send({ id: msg.id, error: { code: Number.isInteger(err.code) ? err.code : -32603, message: err.message } });
  }
});
