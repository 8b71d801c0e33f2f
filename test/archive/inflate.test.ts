/**
 * The bounded inflater on its own: it stops at the bytes an entry declares, and it inflates in the
 * thread pool, so the event loop keeps turning (the server keeps answering) while a large archive
 * is checked.
 */
import { describe, expect, it } from 'vitest';
import { inflateEntry, inspectArchive } from '../../src/archive/inflate.ts';
import { readZipEntries } from '../../src/archive/zip-entries.ts';
import { deflatedZeros, rawZip } from '../attack/raw-zip.ts';

describe('inflateEntry', () => {
  it('stops an entry that lies about its size at its claim: the sink never sees more', async () => {
    const zip = rawZip([{ name: 'manifest.json', data: new Uint8Array(0), declaredSize: 1000, compressed: deflatedZeros(1024) }]);
    const [entry] = readZipEntries(zip);
    let seen = 0;
    const error = await inflateEntry(zip, entry!, 0, 1 << 30, (chunk) => void (seen += chunk.byteLength)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'unsafe_archive', details: { reason: 'size_mismatch' } });
    expect(seen).toBeLessThanOrEqual(1000);
  });

  it('yields to the event loop while it inflates a large entry', async () => {
    const size = 16 * 1024 * 1024;
    const zip = rawZip([{ name: 'zeros.bin', data: new Uint8Array(size), compressed: deflatedZeros(16) }]);
    let ticks = 0;
    let running = true;
    const tick = () => {
      ticks++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const { entries } = await inspectArchive(zip, { maxTotalBytes: 2 * size, maxRatio: 100_000 });
    running = false;
    expect(entries.map((e) => e.size)).toEqual([size]);
    // One turn per output chunk or so; a synchronous inflater would allow none.
    expect(ticks).toBeGreaterThan(50);
  });
});
