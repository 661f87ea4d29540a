import { defineConfig } from 'vitest/config';

// Pure code (shared/: contract, model, engine) runs in Node; the Worker and the SDK have their own projects.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'shared',
          include: ['test/shared/**/*.test.ts'],
          environment: 'node',
        },
      },
    ],
  },
});
