#!/usr/bin/env node
// The GitHub release side of action.yml: finds, downloads and uploads one asset of the release a
// job publishes. Plain Node.js (fetch), no dependencies, so the action needs no install for it.
//
//   node release-asset.mjs find <tag> <name>          exit 0 when the release holds the asset,
//                                                     3 when it does not
//   node release-asset.mjs download <tag> <name> <file>
//   node release-asset.mjs upload <tag> <file>        never replaces: an asset of that name that
//                                                     appeared meanwhile is an error
//
// Environment: GITHUB_REPOSITORY (owner/repo), GH_TOKEN (the job's token: contents read to find
// and download, write to upload), GITHUB_API_URL (default https://api.github.com; GitHub
// Enterprise runners set it).
//
// Every request is bounded: redirects are followed by hand, each hop only to the API's hosts or
// GitHub's download hosts (HTTPS, loopback excepted) and the token only to the API's hosts; a
// release's JSON is read up to 5 MiB, a download up to the size the release reports; each request
// has a deadline (1 minute, 10 for a download or an upload).
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const api = (process.env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '');
const repository = process.env.GITHUB_REPOSITORY ?? '';
const token = process.env.GH_TOKEN ?? '';
const headers = { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28', ...(token ? { authorization: `Bearer ${token}` } : {}) };
const apiHost = new URL(api).host;
// github.com's API uploads through uploads.github.com; GitHub Enterprise through the API's host.
const TOKEN_HOSTS = new Set([apiHost, ...(apiHost === 'api.github.com' ? ['uploads.github.com'] : [])]);
const TRUSTED_HOSTS = new Set([...TOKEN_HOSTS, 'github.com', 'objects.githubusercontent.com', 'release-assets.githubusercontent.com']);
const MAX_JSON_BYTES = 5 * 1024 * 1024;
const MAX_REDIRECTS = 5;
const API_TIMEOUT_MS = 60_000;
const TRANSFER_TIMEOUT_MS = 600_000;

function fail(message) {
  console.log(`::error::${message}`);
  process.exit(1);
}

/**
 * One request under a deadline, following redirects by hand: every hop must be a trusted host
 * (checked before it is contacted), and the token goes to the API's host only.
 */
async function request(url, init, timeoutMs) {
  const signal = AbortSignal.timeout(timeoutMs);
  for (let hop = 0; ; hop++) {
    const target = new URL(url);
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname);
    if (!TRUSTED_HOSTS.has(target.host) || (target.protocol !== 'https:' && !loopback)) {
      fail(`refusing to contact ${target.origin}: not the GitHub API or one of its download hosts`);
    }
    const hopHeaders = TOKEN_HOSTS.has(target.host) ? init.headers : Object.fromEntries(Object.entries(init.headers).filter(([k]) => k !== 'authorization'));
    let response;
    try {
      response = await fetch(target, { ...init, headers: hopHeaders, redirect: 'manual', signal });
    } catch (error) {
      fail(`${init.method ?? 'GET'} ${target.origin}${target.pathname} failed: ${signal.aborted ? `no answer within ${timeoutMs / 1000} s` : error.message}`);
    }
    const location = response.headers.get('location');
    if (![301, 302, 303, 307, 308].includes(response.status) || !location) return { response, signal };
    await response.body?.cancel();
    if (hop >= MAX_REDIRECTS) fail(`more than ${MAX_REDIRECTS} redirects from ${url}`);
    url = new URL(location, target).href;
  }
}

/** Reads a body, at most `max` bytes (more is an error), within the request's deadline. */
async function readBounded(response, signal, max, what) {
  const chunks = [];
  let size = 0;
  try {
    for await (const chunk of Readable.fromWeb(response.body)) {
      size += chunk.byteLength;
      if (size > max) fail(`${what} is larger than ${max} bytes`);
      chunks.push(chunk);
    }
  } catch (error) {
    fail(`${what} broke off: ${signal.aborted ? 'the deadline passed' : error.message}`);
  }
  return Buffer.concat(chunks);
}

/** The release of `tag`: GitHub's JSON, or a clear error (a publish job runs for an existing release). */
async function release(tag) {
  if (!/^[^/]+\/[^/]+$/.test(repository)) fail('GITHUB_REPOSITORY must be owner/repo');
  const { response, signal } = await request(`${api}/repos/${repository}/releases/tags/${encodeURIComponent(tag)}`, { headers }, API_TIMEOUT_MS);
  if (response.status === 404) fail(`there is no release for the tag ${tag} in ${repository}: create the release first (the workflow runs on "release: published")`);
  if (!response.ok) fail(`GET release ${tag} of ${repository} answered HTTP ${response.status}`);
  try {
    return JSON.parse((await readBounded(response, signal, MAX_JSON_BYTES, `the release ${tag}`)).toString('utf8'));
  } catch {
    fail(`the release ${tag} of ${repository} is not JSON`);
  }
}

const [command, tag, ...rest] = process.argv.slice(2);
if (!tag) fail('usage: release-asset.mjs find|download|upload <tag> ...');

if (command === 'find') {
  const asset = (await release(tag)).assets.find((a) => a.name === rest[0]);
  if (!asset) process.exit(3);
} else if (command === 'download') {
  const [name, file] = rest;
  const asset = (await release(tag)).assets.find((a) => a.name === name);
  if (!asset) fail(`the release ${tag} has no asset ${name}`);
  // The API URL works for private repositories too; it redirects to the bytes.
  const { response, signal } = await request(asset.url, { headers: { ...headers, accept: 'application/octet-stream' } }, TRANSFER_TIMEOUT_MS);
  if (!response.ok || !response.body) fail(`downloading ${name} from the release ${tag} answered HTTP ${response.status}`);
  const partial = `${file}.partial`;
  let size = 0;
  // Stops as soon as the bytes pass the size the release reports.
  const capped = new Transform({
    transform(chunk, _encoding, done) {
      size += chunk.byteLength;
      done(size > asset.size ? new Error(`more bytes than the ${asset.size} the release reports`) : null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(response.body), capped, createWriteStream(partial));
  } catch (error) {
    await rm(partial, { force: true });
    fail(`downloading ${name} from the release ${tag} failed: ${signal.aborted ? `no whole answer within ${TRANSFER_TIMEOUT_MS / 1000} s` : error.message}`);
  }
  try {
    if ((await stat(partial)).size !== asset.size) fail(`${name} downloaded with another size than the release reports (${asset.size} bytes)`);
    await rename(partial, file);
  } finally {
    await rm(partial, { force: true });
  }
} else if (command === 'upload') {
  const [file] = rest;
  const name = basename(file);
  const uploadUrl = (await release(tag)).upload_url.replace(/\{.*\}$/, '');
  const { response } = await request(
    `${uploadUrl}?name=${encodeURIComponent(name)}`,
    { method: 'POST', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: await readFile(file) },
    TRANSFER_TIMEOUT_MS,
  );
  await response.body?.cancel();
  if (response.status === 422) fail(`the release ${tag} already has an asset named ${name}; the action announces an existing asset instead of replacing it, so run it again`);
  if (!response.ok) fail(`uploading ${name} to the release ${tag} answered HTTP ${response.status}${response.status === 401 || response.status === 403 ? ': the job needs "permissions: contents: write"' : ''}`);
} else {
  fail(`unknown command ${command}`);
}
