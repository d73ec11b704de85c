/**
 * Who is calling: verifies the bearer token with jose (signature against the configured keys, algorithm
 * allow-list, issuer, audience, exp and nbf with clock skew) and turns its claims into a Caller
 * (claim layout in claims.ts). Every refusal is an OperationOutcomeError 401 with a WWW-Authenticate
 * challenge (RFC 6750); a JWKS we cannot fetch is a 503, because the caller is not at fault.
 *
 * With neither a JWKS URL nor a key file, development mode: an RS256 key pair is generated on first start
 * into devKeyDir and reused afterwards (see dev-keys.ts), and a warning is logged. A configured JWKS or key
 * file always wins; there is no path that accepts development tokens alongside real ones.
 */
import { errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { AuthAlgorithm, Config } from '../config';
import { OperationOutcomeError, issue, type IssueCode } from '../fhir/operation-outcome';
import { createLogger, type Logger } from '../observability/logger';
import type { Caller } from './caller';
import { ClaimsError, callerFromClaims } from './claims';
import { DEV_KEY_ALG, ensureDevSigningKey } from './dev-keys';
import { KeyConfigError, KeySourceUnavailable, keyFile, remoteJwks, singleKey } from './key-source';
import { VerifiedTokens } from './verified-tokens';

/** The auth settings from config (devKeyDir optional for tests), plus where to log and the JWKS time-out. */
export type AuthOptions = Omit<Config['auth'], 'devKeyDir'> & {
  devKeyDir?: string;
  /** Where the development-mode warning and JWKS failures go; a default JSON logger otherwise. */
  logger?: Pick<Logger, 'warn' | 'error'>;
  /** Timeout for fetching the JWKS (default 5000 ms). */
  jwksTimeoutMs?: number;
};

export type AuthMode = 'jwks' | 'key-file' | 'development';

export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Caller>;
  /** Which key source verifies tokens; 'development' means tokens from `npm run token` are accepted. */
  readonly mode: AuthMode;
}

export const REALM = 'care-record-gateway';
/** Longer than any access token we issue or expect; refuses oversized headers before any parsing. */
const MAX_TOKEN_LENGTH = 8192;
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const ALLOWED_ALGORITHMS: readonly AuthAlgorithm[] = ['RS256', 'RS512', 'ES256'];
/** Distinct verified tokens kept at once: far more than the callers one gateway serves in a token's lifetime. */
const VERIFIED_TOKEN_CACHE_SIZE = 1000;

/** 401 with a Bearer challenge. `error` is set only when a token was presented (RFC 6750 section 3.1). */
export function unauthorized(
  diagnostics: string,
  error?: 'invalid_token' | 'invalid_request',
  code: IssueCode = 'security',
): OperationOutcomeError {
  // error_description allows no double quote or backslash (RFC 6750 section 3); ours are fixed texts.
  const challenge = error
    ? `Bearer realm="${REALM}", error="${error}", error_description="${diagnostics.replace(/["\\]/g, "'")}"`
    : `Bearer realm="${REALM}"`;
  return new OperationOutcomeError(401, [issue('error', code, diagnostics)], { 'WWW-Authenticate': challenge });
}

function claimFailure(err: InstanceType<typeof errors.JWTClaimValidationFailed>): OperationOutcomeError {
  switch (err.claim) {
    case 'nbf':
      return unauthorized('The access token is not valid yet', 'invalid_token');
    case 'iss':
    case 'aud':
      return unauthorized('The access token was not issued for this gateway', 'invalid_token');
    default:
      return unauthorized('The access token lacks a required claim', 'invalid_token');
  }
}

/** Every way verification can fail, as the answer the caller gets. Messages name no claim values. */
function refusal(err: unknown): OperationOutcomeError | undefined {
  if (err instanceof ClaimsError) return unauthorized('The access token does not describe a known caller', 'invalid_token');
  if (err instanceof errors.JWTExpired) return unauthorized('The access token has expired', 'invalid_token', 'expired');
  if (err instanceof errors.JWTClaimValidationFailed) return claimFailure(err);
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return unauthorized('The access token is signed with an algorithm this gateway does not accept', 'invalid_token');
  }
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey
    || err instanceof errors.JWKSMultipleMatchingKeys) {
    return unauthorized('The access token signature cannot be verified', 'invalid_token');
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) {
    return unauthorized('The access token is malformed', 'invalid_token');
  }
  return undefined;
}

async function keyResolver(
  options: AuthOptions,
  log: Pick<Logger, 'warn'>,
): Promise<{ key: JWTVerifyGetKey; mode: AuthMode }> {
  if (options.jwksUrl && options.publicKeyFile) {
    throw new KeyConfigError('Configure a JWKS URL or a public key file, not both');
  }
  if (options.jwksUrl) {
    const url = new URL(options.jwksUrl);
    const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
      throw new KeyConfigError('The JWKS URL must use https (plain http only on loopback)');
    }
    return { key: remoteJwks(options.jwksUrl, options.jwksTimeoutMs ?? 5000), mode: 'jwks' };
  }
  if (options.publicKeyFile) return { key: await keyFile(options.publicKeyFile, options.algorithms), mode: 'key-file' };
  if (!options.devKeyDir) throw new KeyConfigError('No JWKS URL, public key file or development key folder configured');
  if (!options.algorithms.includes(DEV_KEY_ALG)) {
    throw new KeyConfigError(`Development tokens are ${DEV_KEY_ALG}, which the algorithm allow-list excludes`);
  }
  const { key, created } = await ensureDevSigningKey(options.devKeyDir);
  log.warn('DEVELOPMENT TOKENS ENABLED: no AUTH_JWKS_URL or AUTH_PUBLIC_KEY_FILE is set, so tokens signed with the '
    + 'development key are accepted. Never run like this with real data.', {
    keyFile: key.file,
    kid: key.kid,
    created,
  });
  return { key: singleKey(key.publicKey, [DEV_KEY_ALG], 'The development key'), mode: 'development' };
}

export async function createAuthenticator(options: AuthOptions): Promise<Authenticator> {
  const algorithms = options.algorithms.filter((alg) => ALLOWED_ALGORITHMS.includes(alg));
  if (algorithms.length === 0 || algorithms.length !== options.algorithms.length) {
    throw new KeyConfigError(`Algorithms must be a non-empty list of ${ALLOWED_ALGORITHMS.join(', ')}`);
  }
  if (!options.issuer || !options.audience) throw new KeyConfigError('An issuer and an audience are required');
  if (!Number.isFinite(options.clockSkewSeconds) || options.clockSkewSeconds < 0) {
    throw new KeyConfigError('Clock skew must be a number of seconds, zero or more');
  }
  const log = options.logger ?? createLogger('warn');
  const { key, mode } = await keyResolver({ ...options, algorithms }, log);
  const verified = new VerifiedTokens(VERIFIED_TOKEN_CACHE_SIZE);

  return {
    mode,
    async authenticate(authorization: string | undefined): Promise<Caller> {
      if (authorization === undefined || authorization.trim() === '') {
        throw unauthorized('An access token is required (Authorization: Bearer <token>)', undefined, 'login');
      }
      if (authorization.length > MAX_TOKEN_LENGTH) throw unauthorized('The access token is too long', 'invalid_request');
      const match = BEARER.exec(authorization);
      if (!match) throw unauthorized('The Authorization header must be Bearer followed by the token', 'invalid_request', 'login');
      const token = match[1];
      const known = verified.get(token);
      if (known) return known;
      try {
        const { payload } = await jwtVerify(token, key, {
          issuer: options.issuer,
          audience: options.audience,
          algorithms,
          clockTolerance: options.clockSkewSeconds,
          requiredClaims: ['exp', 'sub'],
        });
        const caller = callerFromClaims(payload);
        // requiredClaims makes exp present; jose has checked it is a number in the future.
        verified.set(token, caller, payload.exp as number);
        return caller;
      } catch (err) {
        if (err instanceof KeySourceUnavailable) {
          log.error('token keys unavailable', { error: err });
          throw new OperationOutcomeError(
            503,
            [issue('error', 'transient', 'The keys that verify access tokens cannot be fetched; try again later')],
            { 'Retry-After': '30' },
          );
        }
        const answer = refusal(err);
        if (answer) throw answer;
        // jose reports some malformed input (bad base64, bad JSON) as a TypeError or other JOSEError.
        if (err instanceof errors.JOSEError || err instanceof TypeError || err instanceof SyntaxError) {
          throw unauthorized('The access token is malformed', 'invalid_token');
        }
        throw err;
      }
    },
  };
}
