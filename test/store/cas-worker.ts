/**
 * Child process of the cross-process test in `fs-store.test.ts`: appends `count` ids to the JSON
 * array at `key` with compare-and-swap, retrying on conflicts, then exits.
 *
 * Usage: `node --import tsx cas-worker.ts <root> <key> <worker-id> <count>`
 *
 * @module
 */

import { FsStore } from '../../src/store/fs-store.ts';
import { PreconditionFailedError } from '../../src/store/object-store.ts';

const [root, key, worker, count] = process.argv.slice(2);
if (!root || !key || !worker || !count) throw new Error('usage: cas-worker.ts <root> <key> <worker-id> <count>');

const store = new FsStore(root);
for (let i = 0; i < Number(count); i++) {
  for (;;) {
    const current = await store.get(key);
    if (!current) throw new Error(`${key} vanished`);
    const ids = JSON.parse(new TextDecoder().decode(current.body)) as string[];
    const body = new TextEncoder().encode(JSON.stringify([...ids, `${worker}-${i}`]));
    try {
      await store.put(key, body, { contentType: 'application/json', cacheControl: 'no-cache', ifMatch: current.etag });
      break;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
    }
  }
}
