/**
 * Child process of the first-query measurement: a visitor, alone in its process, that makes
 * the untimed warm-up queries and then the timed first queries of `first-queries.ts` against
 * the registry the bench serves.
 *
 * Usage (by `bench/first-queries.ts`): `node --import tsx bench/first-query-worker.ts <job.json> <out.json>`.
 *
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { firstQueries, warmUp, type FirstQueryJob } from './first-queries.ts';

const [jobFile, outFile] = process.argv.slice(2);
if (!jobFile || !outFile) throw new Error('usage: first-query-worker.ts <job.json> <out.json>');
const job = JSON.parse(readFileSync(jobFile, 'utf8')) as FirstQueryJob;
await warmUp(job.baseUrl, job.workload);
writeFileSync(outFile, JSON.stringify(await firstQueries(job.baseUrl, job.workload, job.perClass, job.roundTripMs)));
