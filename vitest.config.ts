import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Integration tests share real servers (RabbitMQ, PostgreSQL, MariaDB, InfluxDB): run files one at a time.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Every skipped test is named at the end of a run (tests/helpers/needs.ts says when tests skip).
    reporters: ['default', './tests/helpers/skip-summary.ts'],
  },
});
