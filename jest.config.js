/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  // Type checking is `npm run build`/`lint`'s job; tests transpile only, which keeps them fast.
  transform: { '^.+\\.ts$': 'ts-jest' },
  testTimeout: 30000,
};
