import path from 'node:path';
import { loadConfig } from '../../src/config';

describe('auth configuration', () => {
  it('defaults to development tokens under the data folder with the documented issuer, audience and skew', () => {
    const { auth } = loadConfig({ DATA_DIR: '/tmp/crg-data' });
    expect(auth).toEqual({
      jwksUrl: undefined,
      publicKeyFile: undefined,
      issuer: 'care-record-gateway-dev',
      audience: 'care-record-gateway',
      clockSkewSeconds: 60,
      algorithms: ['RS256', 'RS512', 'ES256'],
      devKeyDir: path.resolve('/tmp/crg-data/dev-keys'),
    });
  });

  it('reads a JWKS URL, issuer, audience, skew and algorithm allow-list', () => {
    const { auth } = loadConfig({
      AUTH_JWKS_URL: 'https://auth.example.nhs.uk/.well-known/jwks.json',
      AUTH_ISSUER: 'https://auth.example.nhs.uk',
      AUTH_AUDIENCE: 'crg-prod',
      AUTH_CLOCK_SKEW_S: '30',
      AUTH_ALGORITHMS: 'RS512, ES256',
    });
    expect(auth).toMatchObject({
      jwksUrl: 'https://auth.example.nhs.uk/.well-known/jwks.json',
      issuer: 'https://auth.example.nhs.uk',
      audience: 'crg-prod',
      clockSkewSeconds: 30,
      algorithms: ['RS512', 'ES256'],
    });
  });

  it.each([
    [{ AUTH_ALGORITHMS: 'HS256' }, 'AUTH_ALGORITHMS'],
    [{ AUTH_ALGORITHMS: 'RS256,none' }, 'AUTH_ALGORITHMS'],
    [{ AUTH_ALGORITHMS: ' , ' }, 'AUTH_ALGORITHMS'],
    [{ AUTH_CLOCK_SKEW_S: '-5' }, 'AUTH_CLOCK_SKEW_S'],
    [{ AUTH_CLOCK_SKEW_S: '3600' }, 'AUTH_CLOCK_SKEW_S'],
    [{ AUTH_JWKS_URL: 'file:///etc/jwks.json' }, 'AUTH_JWKS_URL'],
    [{ AUTH_JWKS_URL: 'https://a.example/jwks', AUTH_PUBLIC_KEY_FILE: '/k.pem' }, 'not both'],
  ])('stops start-up on %j naming %s', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
