/** Starts a real gateway (and its development SCR) on loopback ports for a test file, logging into memory. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { Caller } from '../../src/auth/caller';
import { loadDevSigningKey } from '../../src/auth/dev-keys';
import { mintDevToken } from '../../src/auth/dev-token';
import { loadConfig } from '../../src/config';
import { startGateway, type Gateway } from '../../src/main';
import { createLogger } from '../../src/observability/logger';
import { assertNoPersonalData } from './personal-data';

export interface TestGateway extends Gateway {
  logLines: string[];
  dataDir: string;
  /** An Authorization header value for this caller, signed with the gateway's development key. */
  bearer(caller: Caller): Promise<string>;
  /** Ready-made callers: the sample care home (VNX12), the sample resident's GP (B86016), an operator. */
  as: { provider: string; gp: string; operator: string };
}

export const CARE_HOME: Caller = { kind: 'provider', clientId: 'rose-court-ehr', odsCode: 'VNX12', scopes: ['system/*.write'] };
export const GP: Caller = { kind: 'clinician', userId: '555001234567', odsCode: 'B86016', role: 'R8000', scopes: ['user/*.read'] };
export const OPERATOR: Caller = { kind: 'operator', userId: 'ops-1', scopes: [] };

export async function startTestGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crg-test-'));
  const config = loadConfig({
    PORT: '0',
    DEV_SCR_PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'debug',
    DELIVERY_POLL_MS: '20',
    DELIVERY_BACKOFF_BASE_MS: '20',
    // Records are prepared on the main thread, as by default, unless a suite asks for the pool (each pool thread loads the
    // validator through tsx, seconds a gateway); the suites that do are the ones whose records go through it.
    // TEST_PREPARE_THREADS=1 runs every suite with the pool.
    PREPARE_THREADS: process.env.TEST_PREPARE_THREADS ?? '0',
    ...env,
  });
  const stream = new PassThrough();
  const logLines: string[] = [];
  stream.on('data', (chunk: Buffer) => logLines.push(...chunk.toString().split('\n').filter(Boolean)));
  const gateway = await startGateway(config, createLogger(config.logLevel, stream));
  const key = await loadDevSigningKey(config.auth.devKeyDir);
  const bearer = async (caller: Caller) => {
    if (!key) throw new Error('the gateway made no development key');
    const token = await mintDevToken(key, caller, { issuer: config.auth.issuer, audience: config.auth.audience, ttlSeconds: 3600 });
    return `Bearer ${token}`;
  };
  return {
    ...gateway,
    logLines,
    dataDir,
    bearer,
    as: { provider: await bearer(CARE_HOME), gp: await bearer(GP), operator: await bearer(OPERATOR) },
    async stop() {
      await gateway.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
      // Every test gateway's whole log is checked, so the suite's traffic proves no personal data is logged.
      assertNoPersonalData(logLines);
    },
  };
}

/** Polls until `check` returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
