/** Starts a real gateway (and its development SCR) on loopback ports for a test file, logging into memory. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { loadConfig } from '../../src/config';
import { startGateway, type Gateway } from '../../src/main';
import { createLogger } from '../../src/observability/logger';

export interface TestGateway extends Gateway {
  logLines: string[];
  dataDir: string;
}

export async function startTestGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crg-test-'));
  const config = loadConfig({
    PORT: '0',
    DEV_SCR_PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'debug',
    DELIVERY_POLL_MS: '20',
    DELIVERY_BACKOFF_BASE_MS: '20',
    ...env,
  });
  const stream = new PassThrough();
  const logLines: string[] = [];
  stream.on('data', (chunk: Buffer) => logLines.push(...chunk.toString().split('\n').filter(Boolean)));
  const gateway = await startGateway(config, createLogger(config.logLevel, stream));
  return {
    ...gateway,
    logLines,
    dataDir,
    async stop() {
      await gateway.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
