/**
 * A shared care record that wants OAuth, on loopback: a token endpoint (express) that verifies the
 * private_key_jwt client assertion with the client's public key the way NHS England's does, and an SCR
 * (a proxy in front of the real development SCR) that answers 401 unless the bearer is a live token from
 * that endpoint. Both are outside the gateway, so tests may script them (expiry, revocation, another key).
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { decodeProtectedHeader, jwtVerify, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { startDevScr, type DevScr } from '../../src/devscr';
import { forward } from './forward';

export interface TokenEndpoint {
  url: string;
  clientId: string;
  keyId: string;
  /** The key assertions must verify against; set another to play "the SCR does not know our key". */
  publicKey: KeyObject;
  /** expires_in of the tokens it issues (NHS England sends a string). */
  expiresIn: number | string;
  /** Token requests received, accepted or not. */
  requests: number;
  /** Verified assertions, in order. */
  assertions: { header: ProtectedHeaderParameters; payload: JWTPayload }[];
  /** Is this a token it issued that has not expired or been revoked? */
  valid(token: string): boolean;
  revokeAll(): void;
  close(): Promise<void>;
}

export function rsaKeyPair(): { privateKey: KeyObject; publicKey: KeyObject; privatePem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, publicKey, privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string };
}

async function listen(app: http.RequestListener): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

async function shut(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export async function startTokenEndpoint(publicKey: KeyObject, clientId = 'crg-test-client', keyId = 'crg-test-key-1'): Promise<TokenEndpoint> {
  const issued = new Map<string, number>();
  const seenJti = new Set<string>();
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  const refuse = (res: express.Response, description: string) => res.status(401).json({ error: 'invalid_client', error_description: description });
  app.post('/oauth2/token', async (req, res) => {
    state.requests++;
    const form = req.body as Record<string, string | undefined>;
    if (form.grant_type !== 'client_credentials') return res.status(400).json({ error: 'unsupported_grant_type' });
    if (form.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' || !form.client_assertion) {
      return res.status(400).json({ error: 'invalid_request', error_description: 'client_assertion missing' });
    }
    let header: ProtectedHeaderParameters;
    let payload: JWTPayload;
    try {
      header = decodeProtectedHeader(form.client_assertion);
      ({ payload } = await jwtVerify(form.client_assertion, state.publicKey, {
        algorithms: ['RS512'],
        issuer: state.clientId,
        subject: state.clientId,
        audience: state.url,
      }));
    } catch {
      return refuse(res, 'Invalid client assertion signature or claims');
    }
    if (header.kid !== state.keyId) return refuse(res, 'Unknown kid');
    if (!payload.jti || seenJti.has(payload.jti)) return refuse(res, 'jti missing or reused');
    if (!payload.exp || payload.exp - Math.floor(Date.now() / 1000) > 300) return refuse(res, 'exp more than 5 minutes away');
    seenJti.add(payload.jti);
    state.assertions.push({ header, payload });
    const token = randomBytes(24).toString('hex');
    issued.set(token, Date.now() + Number(state.expiresIn) * 1000);
    return res.json({ access_token: token, expires_in: state.expiresIn, token_type: 'Bearer', issued_at: String(Date.now()) });
  });
  const { server, port } = await listen(app);
  const state: TokenEndpoint = {
    url: `http://127.0.0.1:${port}/oauth2/token`,
    clientId,
    keyId,
    publicKey,
    expiresIn: 599,
    requests: 0,
    assertions: [],
    valid: (token) => (issued.get(token) ?? 0) > Date.now(),
    revokeAll: () => issued.clear(),
    close: () => shut(server),
  };
  return state;
}

export interface BearerScr {
  baseUrl: string;
  /** Requests that reached it, and those it refused for want of a live token. */
  seen: number;
  refused: number;
  close(): Promise<void>;
}

/** The development SCR behind a check of `Authorization: Bearer <live token from the endpoint>`. */
export async function startBearerScr(tokens: TokenEndpoint): Promise<BearerScr> {
  const scr: DevScr = await startDevScr({ port: 0 });
  const origin = new URL(scr.baseUrl).origin;
  const { server, port } = await listen((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.seen++;
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!bearer || !tokens.valid(bearer)) {
        state.refused++;
        res.writeHead(401, { 'Content-Type': 'application/fhir+json', 'WWW-Authenticate': 'Bearer error="invalid_token"' });
        res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login', diagnostics: 'Invalid access token' }] }));
        return;
      }
      const headers = { 'content-type': req.headers['content-type'] ?? 'application/fhir+json', accept: 'application/fhir+json' };
      void forward(origin, req, chunks.length ? Buffer.concat(chunks) : undefined, res, { headers });
    });
  });
  const state: BearerScr = {
    baseUrl: `http://127.0.0.1:${port}/fhir`,
    seen: 0,
    refused: 0,
    close: async () => {
      await shut(server);
      await scr.close();
    },
  };
  return state;
}
