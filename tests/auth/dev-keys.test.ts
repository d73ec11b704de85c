import fs from 'node:fs';
import path from 'node:path';
import { createAuthenticator } from '../../src/auth/authenticate';
import { loadDevSigningKey } from '../../src/auth/dev-keys';
import { GP_CLAIMS, captureLog, options, sign, tempDir } from './tokens';

let dataDir: string;
beforeEach(() => {
  dataDir = tempDir();
});
afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe('development keys', () => {
  it('generates a key pair on first start, readable only by its owner, and warns that development tokens are on', async () => {
    const devKeyDir = path.join(dataDir, 'dev-keys');
    const { logger, lines } = captureLog();
    const auth = await createAuthenticator(options({ devKeyDir, logger }));
    expect(auth.mode).toBe('development');
    for (const file of fs.readdirSync(devKeyDir)) {
      expect(fs.statSync(path.join(devKeyDir, file)).mode & 0o777).toBe(0o600);
    }
    expect(fs.readdirSync(devKeyDir).sort()).toEqual(['signing-key.jwk.json', 'signing-key.pem']);
    expect(fs.statSync(devKeyDir).mode & 0o777).toBe(0o700);
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => JSON.parse(l) as { level: string; message: string })).toContainEqual(
      expect.objectContaining({ level: 'warn', message: expect.stringContaining('DEVELOPMENT TOKENS ENABLED') }),
    );
    const publicJwk = JSON.parse(fs.readFileSync(path.join(devKeyDir, 'signing-key.jwk.json'), 'utf8')) as Record<string, unknown>;
    expect(publicJwk).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(publicJwk.d).toBeUndefined();
  });

  it('reuses the same key across two createAuthenticator calls', async () => {
    const devKeyDir = path.join(dataDir, 'dev-keys');
    await createAuthenticator(options({ devKeyDir, logger: captureLog().logger }));
    const first = await loadDevSigningKey(devKeyDir);
    const token = await sign(GP_CLAIMS, first!.privateKey, { kid: first!.kid });
    const { logger, lines } = captureLog();
    const second = await createAuthenticator(options({ devKeyDir, logger }));
    expect((await second.authenticate(`Bearer ${token}`)).kind).toBe('clinician');
    expect((await loadDevSigningKey(devKeyDir))!.kid).toBe(first!.kid);
    await new Promise((r) => setImmediate(r));
    expect(JSON.parse(lines[0]) as object).toMatchObject({ created: false, kid: first!.kid });
  });

  it('creates one key when two authenticators start at once on an empty folder', async () => {
    const devKeyDir = path.join(dataDir, 'dev-keys');
    await Promise.all([1, 2, 3].map(() => createAuthenticator(options({ devKeyDir, logger: captureLog().logger }))));
    expect(fs.readdirSync(devKeyDir).sort()).toEqual(['signing-key.jwk.json', 'signing-key.pem']);
  });

  it('refuses a development key that other users can read', async () => {
    const devKeyDir = path.join(dataDir, 'dev-keys');
    await createAuthenticator(options({ devKeyDir, logger: captureLog().logger }));
    fs.chmodSync(path.join(devKeyDir, 'signing-key.pem'), 0o644);
    await expect(createAuthenticator(options({ devKeyDir, logger: captureLog().logger }))).rejects.toThrow('chmod 600');
  });

  it('refuses to start with no key source and no development key folder', async () => {
    await expect(createAuthenticator(options({}))).rejects.toThrow('No JWKS URL');
  });

  it('refuses tokens signed by another development key', async () => {
    const other = path.join(dataDir, 'other');
    await createAuthenticator(options({ devKeyDir: other, logger: captureLog().logger }));
    const foreign = await loadDevSigningKey(other);
    const auth = await createAuthenticator(options({ devKeyDir: path.join(dataDir, 'dev-keys'), logger: captureLog().logger }));
    await expect(auth.authenticate(`Bearer ${await sign(GP_CLAIMS, foreign!.privateKey, { kid: foreign!.kid })}`))
      .rejects.toMatchObject({ status: 401 });
  });
});
