// @globex/weather: a dependency-free MCP server (newline-delimited JSON-RPC 2.0 over stdio).
// Forecasts are synthetic and derived from the city name, so they are stable across calls.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const manifest = JSON.parse(readFileSync(new URL('../manifest.json', import.meta.url), 'utf8'));

const CONDITIONS = ['sunny', 'partly cloudy', 'cloudy', 'light rain', 'showers', 'windy', 'fog'];

function forecast({ city, days = 3 }) {
  if (typeof city !== 'string' || city.trim() === '') throw new TypeError('"city" must be a non-empty string.');
  const count = Math.min(7, Math.max(1, Math.trunc(Number(days)) || 3));
  let seed = 0;
  for (const ch of city.trim().toLowerCase()) seed = (seed * 31 + ch.codePointAt(0)) >>> 0;
  const lines = [];
  for (let day = 1; day <= count; day++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const high = 8 + (seed % 22);
    lines.push(`Day ${day}: ${CONDITIONS[seed % CONDITIONS.length]}, high ${high}°C, low ${high - 4 - (seed % 6)}°C`);
  }
  return `Forecast for ${city.trim()} (synthetic):\n${lines.join('\n')}`;
}

const tools = {
  forecast: {
    description: 'Returns a daily forecast for a city, for 1 to 7 days.',
    inputSchema: {
      type: 'object',
      properties: {
        city: { type: 'string', description: 'City name, e.g. "Lisbon".' },
        days: { type: 'integer', minimum: 1, maximum: 7, default: 3, description: 'Number of days.' },
      },
      required: ['city'],
    },
    run: forecast,
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
    try {
      return { content: [{ type: 'text', text: String(tool.run(params.arguments ?? {})) }] };
    } catch (err) {
      return { content: [{ type: 'text', text: err.message }], isError: true };
    }
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
