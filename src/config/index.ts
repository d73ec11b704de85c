/**
 * The one place that reads process.env. Every setting is parsed and checked here, once, at start-up;
 * a bad value throws ConfigError naming the variable, and main.ts stops the process with that message.
 */
import path from 'node:path';

export interface Config {
  /** Address and port the gateway listens on. */
  host: string;
  port: number;
  /** The shared care record's FHIR base URL. Absent: main.ts starts the development SCR on loopback. */
  scrBaseUrl?: string;
  /** Port for the development SCR (0 = any free port). Only used when scrBaseUrl is absent. */
  devScrPort: number;
  /** Timeout for each call to the SCR. */
  scrTimeoutMs: number;
  /** Folder for the embedded database and development keys. */
  dataDir: string;
  /** SQLite file for the outbox; ':memory:' is allowed for tests. */
  outboxPath: string;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  /** Largest JSON body accepted on record endpoints. */
  maxBodyBytes: number;
  delivery: {
    maxAttempts: number;
    backoffBaseMs: number;
    backoffMaxMs: number;
    pollIntervalMs: number;
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function url(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an absolute http(s) URL, got "${raw}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(`${name} must use http or https, got "${parsed.protocol}"`);
  }
  return raw.replace(/\/+$/, '');
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

export function loadConfig(env: Env = process.env): Config {
  const dataDir = path.resolve(env.DATA_DIR || 'data');
  return {
    host: env.HOST || '127.0.0.1',
    port: integer(env, 'PORT', 8080, 0, 65535),
    scrBaseUrl: url(env, 'SCR_BASE_URL'),
    devScrPort: integer(env, 'DEV_SCR_PORT', 8103, 0, 65535),
    scrTimeoutMs: integer(env, 'SCR_TIMEOUT_MS', 10_000, 100, 300_000),
    dataDir,
    outboxPath: env.OUTBOX_PATH || path.join(dataDir, 'outbox.sqlite'),
    logLevel: oneOf(env, 'LOG_LEVEL', ['error', 'warn', 'info', 'debug'] as const, 'info'),
    maxBodyBytes: integer(env, 'MAX_BODY_BYTES', 1_048_576, 1024, 104_857_600),
    delivery: {
      maxAttempts: integer(env, 'DELIVERY_MAX_ATTEMPTS', 8, 1, 1000),
      backoffBaseMs: integer(env, 'DELIVERY_BACKOFF_BASE_MS', 500, 1, 3_600_000),
      backoffMaxMs: integer(env, 'DELIVERY_BACKOFF_MAX_MS', 300_000, 1, 86_400_000),
      pollIntervalMs: integer(env, 'DELIVERY_POLL_MS', 200, 10, 60_000),
    },
  };
}
