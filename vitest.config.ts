import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // s3rver (the S3 tests' server) makes list continuation tokens with DES, a legacy cipher.
    execArgv: ['--openssl-legacy-provider'],
  },
});
