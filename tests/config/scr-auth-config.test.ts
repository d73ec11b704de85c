import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';

const ALL = {
  SCR_TOKEN_URL: 'https://auth.example.nhs.uk/oauth2/token',
  SCR_CLIENT_ID: 'crg-client',
  SCR_PRIVATE_KEY_FILE: 'keys/scr.pem',
  SCR_KEY_ID: 'crg-key-1',
};

describe('SCR authentication settings', () => {
  it('means no outbound auth when none of them is set', () => {
    expect(loadConfig({}).scrAuth).toBeUndefined();
  });

  it('reads all four, keeping the token URL exactly as given and resolving the key file', () => {
    expect(loadConfig({ ...ALL, SCR_TOKEN_URL: 'https://auth.example.nhs.uk/oauth2/token/' }).scrAuth).toEqual({
      tokenUrl: 'https://auth.example.nhs.uk/oauth2/token/',
      clientId: 'crg-client',
      privateKeyFile: path.resolve('keys/scr.pem'),
      keyId: 'crg-key-1',
    });
  });

  it('stops start-up naming the missing ones when only some are set', () => {
    const env = { SCR_TOKEN_URL: ALL.SCR_TOKEN_URL, SCR_CLIENT_ID: ALL.SCR_CLIENT_ID };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(
      'SCR authentication needs all of SCR_TOKEN_URL, SCR_CLIENT_ID, SCR_PRIVATE_KEY_FILE, SCR_KEY_ID; missing SCR_PRIVATE_KEY_FILE, SCR_KEY_ID',
    );
  });

  it('stops start-up when the token URL is not an http(s) URL', () => {
    expect(() => loadConfig({ ...ALL, SCR_TOKEN_URL: 'token-endpoint' })).toThrow(/SCR_TOKEN_URL must be an absolute http\(s\) URL/);
  });
});
