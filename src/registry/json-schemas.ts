/**
 * JSON Schemas of the static files and request bodies, generated from the zod schemas with zod 4's
 * `z.toJSONSchema`. The committed copies live in `index-schema/`.
 *
 * @module
 */
import * as z from 'zod';
import { SCHEMA_FILES } from '../core/paths.ts';
import { SHARDED_SCHEMAS } from '../search/format/wire.ts';
import { PUBLISHED_SCHEMAS } from '../core/schemas.ts';
import { ServerListDocumentSchema, ServerResponseDocumentSchema } from '../mcp/schemas.ts';
import { DiscoveryIndexDocumentSchema } from '../skills/discovery.ts';
import { GcStateSchema } from './gc.ts';

/** The read APIs of other clients: the MCP registry API (v0.1) and agent-skills discovery. */
const INTEROP_SCHEMAS = {
  'mcp-server-list.schema.json': ServerListDocumentSchema,
  'mcp-server-response.schema.json': ServerResponseDocumentSchema,
  'agent-skills-index.schema.json': DiscoveryIndexDocumentSchema,
} as const;

/** Schemas of request bodies describe what a client sends (zod's input side). */
const REQUEST_SCHEMAS = new Set(['bundle-announce.schema.json', 'skill-announce.schema.json', 'status-request.schema.json']);

/** Every schema file's text, by file name: the sharded index's files with `shelf gc`'s record beside them. */
export function generateSchemas(): Record<string, string> {
  const out: Record<string, string> = {};
  const all = { ...PUBLISHED_SCHEMAS, ...SHARDED_SCHEMAS, 'gc-state.schema.json': GcStateSchema, ...INTEROP_SCHEMAS };
  for (const [file, schema] of Object.entries(all)) {
    const json = z.toJSONSchema(schema, { io: REQUEST_SCHEMAS.has(file) ? 'input' : 'output', unrepresentable: 'any' });
    const described = {
      $id: `https://shelf.invalid/index-schema/${file}`,
      ...json,
      description: `${(json as { description?: string }).description ?? ''}${SCHEMA_FILES[file as keyof typeof SCHEMA_FILES] ? ` File: ${SCHEMA_FILES[file as keyof typeof SCHEMA_FILES]}` : ''}`.trim(),
    };
    out[file] = `${JSON.stringify(described, null, 2)}\n`;
  }
  return out;
}
