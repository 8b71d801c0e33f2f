/**
 * A GET that is sent once more when the first attempt fails before any response (the fetch
 * throws): a keep-alive connection the server closed just as it was reused fails that way, and
 * browsers resend idempotent requests in that case too. HTTP errors are responses, never resent.
 *
 * @param fetchFn - The fetch to call.
 * @returns The response of the first attempt that gets one; the second attempt's error otherwise.
 */
export async function fetchOnceMore<I>(fetchFn: (url: string, init?: I) => Promise<Response>, url: string, init?: I): Promise<Response> {
  try {
    return await fetchFn(url, init);
  } catch {
    return fetchFn(url, init);
  }
}
