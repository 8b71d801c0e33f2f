/**
 * zod schemas of the MCP registry API files Shelf writes (the subset of the spec's `ServerList`
 * and `ServerResponse` it uses), for `index-schema/`. The spec's own schemas validate the same
 * files in the tests (`test/fixtures/mcp-registry/`).
 *
 * Pure module.
 *
 * @module
 */
import * as z from 'zod';
import { OFFICIAL_META, SHELF_META } from './server-json.ts';

const isoDate = z.string().describe('RFC 3339 timestamp (UTC)');

/** `GET /v0.1/servers/{name}/versions/{version|latest}`. */
export const ServerResponseDocumentSchema = z
  .object({
    server: z.object({
      $schema: z.string(),
      name: z.string().min(3).max(200).regex(/^[a-zA-Z0-9.-]+\/[a-zA-Z0-9._-]+$/).describe('io.github.{scope}/{name}'),
      description: z.string().min(1).max(100).describe("The version's description, cut to 100 characters"),
      title: z.string().min(1).max(100).optional(),
      version: z.string().max(255),
      repository: z.object({ url: z.string(), source: z.literal('github'), id: z.string() }).optional(),
      websiteUrl: z.string().optional(),
      icons: z
        .array(
          z.object({
            src: z.string().max(255).describe('An https URL'),
            mimeType: z.enum(['image/png', 'image/jpeg', 'image/svg+xml', 'image/webp']).optional(),
            sizes: z.array(z.string().regex(/^\d+x\d+$/)).optional(),
            theme: z.enum(['light', 'dark']).optional(),
          }),
        )
        .optional()
        .describe("The manifest's icons that are https URLs (icons inside the bundle are left out)"),
      packages: z.array(
        z.object({
          registryType: z.literal('mcpb'),
          identifier: z.string().describe("The artifact's absolute URL on the registry's CDN"),
          version: z.string(),
          fileSha256: z.string().regex(/^[a-f0-9]{64}$/),
          transport: z.object({ type: z.literal('stdio') }),
        }),
      ).describe('One per artifact, in platform order (darwin, linux, win32, any); _meta names each one\'s platform'),
    }),
    _meta: z.object({
      [OFFICIAL_META]: z.object({
        status: z.enum(['active', 'deprecated']).describe("Shelf's deprecated and yanked are both deprecated; a version taken down is not served"),
        statusMessage: z.string().max(500).optional().describe("The publisher's message; a yanked version's starts with \"yanked\""),
        statusChangedAt: isoDate.optional().describe('When the status that applies was set (for an active version, when it was last made active again)'),
        publishedAt: isoDate,
        updatedAt: isoDate.describe('The later of the last artifact and statusChangedAt'),
        isLatest: z.boolean().describe('Never a yanked version'),
      }),
      [SHELF_META]: z.looseObject({
        name: z.string().describe('@scope/name'),
        status: z.enum(['active', 'deprecated', 'yanked']).optional().describe("Shelf's own status of the version (its own, else its package's)"),
        status_source: z.enum(['version', 'package']).optional().describe('Whose status it is (absent when active)'),
        status_message: z.string().optional(),
        status_changed_at: isoDate.optional(),
        lifecycle: z.string().optional().describe("The package's lifecycle record (statuses and their history), when it has one; not in the listings' pages"),
        artifacts: z.array(z.looseObject({ os: z.string(), arch: z.string(), identifier: z.string(), sha256: z.string() })),
      }),
    }),
  })
  .meta({ title: 'MCP registry API: ServerResponse' });

/** `GET /v0.1/servers[?version=latest][&cursor=N]` and `GET /v0.1/servers/{name}/versions`. */
export const ServerListDocumentSchema = z
  .object({
    servers: z.array(ServerResponseDocumentSchema),
    metadata: z.object({ count: z.number().int().nonnegative(), nextCursor: z.string().optional().describe('The next page, while there is one') }),
  })
  .meta({ title: 'MCP registry API: ServerList' });
