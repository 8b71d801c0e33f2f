/**
 * A fetch that answers from a store, as the CDN in front of the bucket would: for reading a
 * store's files with the real client, without a server.
 */
import type { ObjectStore } from '../../src/store/object-store.ts';

/** A fetch that answers from a store, as the CDN would. */
export function storeFetch(store: ObjectStore): typeof fetch {
  return (async (input: RequestInfo | URL) => {
    const key = decodeURIComponent(new URL(String(input)).pathname.slice(1));
    const obj = await store.get(key);
    return obj ? new Response(obj.body as Uint8Array<ArrayBuffer>, { status: 200, headers: { etag: obj.etag, 'content-type': obj.contentType } }) : new Response('', { status: 404 });
  }) as typeof fetch;
}
