// @acme/echo: a dependency-free MCP server (newline-delimited JSON-RPC 2.0 over stdio).
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const manifest = JSON.parse(readFileSync(new URL('../manifest.json', import.meta.url), 'utf8'));

const textInput = {
  type: 'object',
  properties: { text: { type: 'string', description: 'The text to use.' } },
  required: ['text'],
};

const tools = {
  echo: { description: 'Returns the given text unchanged.', inputSchema: textInput, run: ({ text }) => text },
  reverse: {
    description: 'Returns the given text reversed.',
    inputSchema: textInput,
    run: ({ text }) => Array.from(text).reverse().join(''),
  },
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
    const args = params.arguments ?? {};
    const missing = (tool.inputSchema.required ?? []).filter((key) => typeof args[key] !== 'string');
    if (missing.length > 0) return { content: [{ type: 'text', text: `Missing string argument(s): ${missing.join(', ')}` }], isError: true };
    return { content: [{ type: 'text', text: String(tool.run(args)) }] };
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
