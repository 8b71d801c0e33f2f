// Test-only: runs the BUILT announce function the way the Lambda runtime does, in a fresh Node
// process. Usage: node lambda-driver.mjs <path/to/index.mjs>. Reads one function-URL event (JSON)
// per line on stdin, calls handler(event), and writes "RESULT <json>" per event on stdout; every
// other stdout line is the function's own logging. Importing the module runs its INIT phase, so
// a configuration error makes this process exit non-zero with the message on stderr.
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const { handler } = await import(pathToFileURL(process.argv[2]).href);
process.stdout.write('READY\n');
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const result = await handler(JSON.parse(line));
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}
