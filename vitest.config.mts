import path from 'node:path';
import { defineConfig } from 'vitest/config';

const alias = { '@': path.resolve(import.meta.dirname) };

/**
 * Three projects: unit tests (tests/<lib folder>/, mirroring lib/), and the
 * integration and end-to-end tests that start the built console. Files run
 * one at a time: the machine has two cores, and servers and a browser share them.
 */
export default defineConfig({
  resolve: { alias },
  test: {
    fileParallelism: false,
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['tests/**/*.test.ts'],
          exclude: ['tests/integration/**', 'tests/e2e/**'],
          setupFiles: ['tests/setup/unit-env.ts'],
          testTimeout: 30_000,
        },
      },
      {
        resolve: { alias },
        test: { name: 'integration', include: ['tests/integration/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 180_000 },
      },
      {
        resolve: { alias },
        test: { name: 'e2e', include: ['tests/e2e/**/*.test.ts'], testTimeout: 180_000, hookTimeout: 240_000 },
      },
    ],
  },
});
