/**
 * When a version document's `yanked` is a yank's gate in flight (`yankInFlight`): not yet in the
 * record, and younger than the lease either way of the clock; a recorded, superseded or stale
 * one is not, and neither is any other status.
 */
import { describe, expect, it } from 'vitest';
import { applyStatus, emptyLifecycle, YANK_GATE_LEASE_MS, yankInFlight } from '../../src/indexer/lifecycle.ts';
import type { Provenance } from '../../src/core/schemas.ts';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
const provenance = {} as Provenance;
const yanked = (at: string) => ({ version: '1.0.0', status: 'yanked' as const, status_changed_at: at });
const change = (status: 'yanked' | 'active', at: string) => ({ version: '1.0.0', status, at, provenance });

describe('yankInFlight', () => {
  it('a gate the record does not have yet, younger than the lease (or dated ahead by less): in flight', () => {
    expect(yankInFlight(yanked(ago(1000)), null, NOW)).toBe(true);
    expect(yankInFlight(yanked(ago(YANK_GATE_LEASE_MS - 1000)), emptyLifecycle('bundle', '@acme/echo'), NOW)).toBe(true);
    expect(yankInFlight(yanked(ago(-30_000)), null, NOW)).toBe(true);
  });

  it('a gate older than the lease, or dated ahead by more: a crashed yank, not in flight', () => {
    expect(yankInFlight(yanked(ago(YANK_GATE_LEASE_MS + 1000)), null, NOW)).toBe(false);
    expect(yankInFlight(yanked(ago(-YANK_GATE_LEASE_MS - 1000)), null, NOW)).toBe(false);
  });

  it('a yank the record has (still, or undone since): not in flight', () => {
    const at = ago(1000);
    const recorded = applyStatus(null, 'bundle', '@acme/echo', change('yanked', at)).record;
    expect(yankInFlight(yanked(at), recorded, NOW)).toBe(false);
    const undone = applyStatus(recorded, 'bundle', '@acme/echo', change('active', ago(500))).record;
    expect(yankInFlight(yanked(at), undone, NOW)).toBe(false);
  });

  it('any other status, or a yank without a time: not in flight', () => {
    expect(yankInFlight({ version: '1.0.0', status: 'active', status_changed_at: ago(1000) }, null, NOW)).toBe(false);
    expect(yankInFlight({ version: '1.0.0', status: 'yanked' }, null, NOW)).toBe(false);
  });
});
