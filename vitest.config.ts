import { defineConfig } from 'vitest/config';
import { openaiSdkAlias } from './test/helpers/openai-sdk.js';

export default defineConfig({
  resolve: { alias: openaiSdkAlias() },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    setupFiles: ['test/helpers/fast-check-seed.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration suites start real processes and ports; two workers match the 2-core machines.
    maxWorkers: 2,
  },
});
