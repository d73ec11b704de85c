/**
 * Outbound authentication to the shared care record: OAuth 2.0 client credentials with a signed JWT client
 * assertion (RFC 7523 `private_key_jwt`, RS512), the pattern NHS England's APIs use. The access token is
 * cached until shortly before it expires; concurrent callers share one token request; a 401 from the SCR
 * drops the cached token so the next call fetches a fresh one.
 *
 * Every failure to get a token is a retryable ScrError: a refused assertion is a configuration problem of
 * the gateway, not of the record, so the submission waits in the outbox (and is dead-lettered as `failed`,
 * replayable, only after every attempt) rather than being rejected. Nothing secret is logged or kept in errors:
 * the assertion and token never leave this file except in the Authorization header.
 */
import { createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import axios from 'axios';
import { SignJWT } from 'jose';
import { ConfigError } from '../config';
import type { Logger } from '../observability/logger';
import { issue, outcome } from './operation-outcome';
import { ScrError } from './scr-error';

export const ASSERTION_ALG = 'RS512';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** NHS England refuses an assertion whose exp is more than 5 minutes away. */
const ASSERTION_TTL_SECONDS = 300;
/** Refresh this long before the token's expiry (or a tenth of its lifetime, whichever is shorter). */
const REFRESH_MARGIN_MS = 30_000;

/** What ScrClient needs: a header value per call, and a way to say the SCR refused it. */
export interface ScrAuth {
  /** "Bearer <token>", fetching a token first when none is cached or it is about to expire. */
  authorization(): Promise<string>;
  /** The SCR answered 401 to this header value: forget that token (once; later calls fetch a new one). */
  rejected(authorization: string): void;
}

export interface ClientCredentialsOptions {
  tokenUrl: string;
  clientId: string;
  /** RSA private key (at least 2048 bits) whose public half the token endpoint knows by keyId. */
  privateKey: KeyObject;
  keyId: string;
  /** Deadline for each token request. */
  timeoutMs: number;
  logger?: Logger;
}

interface CachedToken {
  authorization: string;
  refreshAt: number;
}

export class ClientCredentialsAuth implements ScrAuth {
  private cached?: CachedToken;
  private pending?: Promise<CachedToken>;

  constructor(private readonly options: ClientCredentialsOptions) {}

  async authorization(): Promise<string> {
    if (this.cached && Date.now() < this.cached.refreshAt) return this.cached.authorization;
    // One token request at a time: everyone waiting shares its answer, success or failure.
    this.pending ??= this.fetchToken().finally(() => {
      this.pending = undefined;
    });
    this.cached = await this.pending;
    return this.cached.authorization;
  }

  rejected(authorization: string): void {
    if (this.cached?.authorization === authorization) this.cached = undefined;
  }

  /** The signed client assertion: iss = sub = client id, aud = token URL, a fresh jti, exp within 5 minutes. */
  private assertion(): Promise<string> {
    const { clientId, tokenUrl, keyId, privateKey } = this.options;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: ASSERTION_ALG, typ: 'JWT', kid: keyId })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(tokenUrl)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + ASSERTION_TTL_SECONDS)
      .sign(privateKey);
  }

  private async fetchToken(): Promise<CachedToken> {
    const { tokenUrl, timeoutMs, logger } = this.options;
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await this.assertion(),
    });
    let status: number;
    let data: unknown;
    try {
      const response = await axios.post<unknown>(tokenUrl, form.toString(), {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        timeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
        validateStatus: () => true,
        maxRedirects: 0,
      });
      status = response.status;
      data = response.data;
    } catch (err) {
      const code = axios.isAxiosError(err) ? err.code : undefined;
      throw this.failure(`SCR token request failed: network error${code ? ` (${code})` : ''}`);
    }
    const body = (data && typeof data === 'object' ? data : {}) as Record<string, unknown>;
    if (status < 200 || status >= 300) {
      // RFC 6749 5.2: error and error_description say why (invalid_client: the key or kid is not known).
      const why = [body.error, body.error_description].filter((v) => typeof v === 'string').join(': ');
      throw this.failure(`SCR token endpoint refused the client credentials: HTTP ${status}${why ? ` ${why}` : ''}`);
    }
    const token = body.access_token;
    // NHS England sends expires_in as a string ("599"); RFC 6749 as a number.
    const expiresIn = Number(body.expires_in);
    if (typeof token !== 'string' || token === '' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
      throw this.failure('SCR token endpoint answered without an access_token and a positive expires_in');
    }
    const lifetimeMs = expiresIn * 1000;
    logger?.debug('SCR access token obtained', { expiresInSeconds: expiresIn });
    return {
      authorization: `Bearer ${token}`,
      refreshAt: Date.now() + lifetimeMs - Math.min(REFRESH_MARGIN_MS, lifetimeMs / 10),
    };
  }

  private failure(message: string): ScrError {
    this.options.logger?.error('SCR authentication failed', { error: message });
    return new ScrError(message, undefined, true, outcome([issue('error', 'security', message)]));
  }
}

export interface ScrAuthSettings {
  tokenUrl: string;
  clientId: string;
  privateKeyFile: string;
  keyId: string;
}

/** Reads the PEM private key at start-up; a missing or unsuitable key stops the gateway with a ConfigError. */
export async function loadClientCredentialsAuth(
  settings: ScrAuthSettings,
  options: { timeoutMs: number; logger?: Logger },
): Promise<ClientCredentialsAuth> {
  let pem: string;
  try {
    pem = await fs.readFile(settings.privateKeyFile, 'utf8');
  } catch (err) {
    throw new ConfigError(`SCR_PRIVATE_KEY_FILE cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): ${settings.privateKeyFile}`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new ConfigError(`SCR_PRIVATE_KEY_FILE is not a PEM private key: ${settings.privateKeyFile}`);
  }
  if (privateKey.asymmetricKeyType !== 'rsa' || (privateKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw new ConfigError(`SCR_PRIVATE_KEY_FILE must hold an RSA key of at least 2048 bits for ${ASSERTION_ALG}: ${settings.privateKeyFile}`);
  }
  return new ClientCredentialsAuth({ ...settings, privateKey, ...options });
}
