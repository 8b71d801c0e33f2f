// Preloaded into a third-party CLI under test (`node --import`): every fetch to a host other than
// loopback is refused and recorded in $SHELF_TEST_OUTBOUND_LOG, so a test can assert that the
// tool never reached the network (telemetry, update checks) rather than hoping it did not.
import { appendFileSync } from 'node:fs';

const original = globalThis.fetch;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
globalThis.fetch = async (input, init) => {
  const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
  if (!LOOPBACK.has(url.hostname)) {
    if (process.env.SHELF_TEST_OUTBOUND_LOG) appendFileSync(process.env.SHELF_TEST_OUTBOUND_LOG, `${url.href}\n`);
    throw new TypeError(`fetch to ${url.host} refused: tests stay on loopback`);
  }
  return original(input, init);
};
