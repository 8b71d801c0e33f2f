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
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const api = (process.env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '');
const repository = process.env.GITHUB_REPOSITORY ?? '';
const token = process.env.GH_TOKEN ?? '';
const headers = { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28', ...(token ? { authorization: `Bearer ${token}` } : {}) };

function fail(message) {
  console.log(`::error::${message}`);
  process.exit(1);
}

/** The release of `tag`: GitHub's JSON, or a clear error (a publish job runs for an existing release). */
async function release(tag) {
  if (!/^[^/]+\/[^/]+$/.test(repository)) fail('GITHUB_REPOSITORY must be owner/repo');
  const response = await fetch(`${api}/repos/${repository}/releases/tags/${encodeURIComponent(tag)}`, { headers });
  if (response.status === 404) fail(`there is no release for the tag ${tag} in ${repository}: create the release first (the workflow runs on "release: published")`);
  if (!response.ok) fail(`GET release ${tag} of ${repository} answered HTTP ${response.status}`);
  return response.json();
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
  const response = await fetch(asset.url, { headers: { ...headers, accept: 'application/octet-stream' } });
  if (!response.ok || !response.body) fail(`downloading ${name} from the release ${tag} answered HTTP ${response.status}`);
  const partial = `${file}.partial`;
  try {
    await pipeline(Readable.fromWeb(response.body), createWriteStream(partial));
    if ((await stat(partial)).size !== asset.size) fail(`${name} downloaded with another size than the release reports (${asset.size} bytes)`);
    await rename(partial, file);
  } finally {
    await rm(partial, { force: true });
  }
} else if (command === 'upload') {
  const [file] = rest;
  const name = basename(file);
  const uploadUrl = (await release(tag)).upload_url.replace(/\{.*\}$/, '');
  const response = await fetch(`${uploadUrl}?name=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/octet-stream' },
    body: await readFile(file),
  });
  if (response.status === 422) fail(`the release ${tag} already has an asset named ${name}; the action announces an existing asset instead of replacing it, so run it again`);
  if (!response.ok) fail(`uploading ${name} to the release ${tag} answered HTTP ${response.status}${response.status === 401 || response.status === 403 ? ': the job needs "permissions: contents: write"' : ''}`);
} else {
  fail(`unknown command ${command}`);
}
