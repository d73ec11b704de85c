import { ConfigError, loadConfig } from '../../src/config';

describe('configuration', () => {
  it('has working defaults with no environment at all', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8080);
    expect(config.scrBaseUrl).toBeUndefined();
    expect(config.delivery.maxAttempts).toBeGreaterThan(0);
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT must be a whole number/],
    [{ PORT: '70000' }, /PORT must be between/],
    [{ SCR_BASE_URL: 'not a url' }, /SCR_BASE_URL must be an absolute/],
    [{ SCR_BASE_URL: 'ftp://scr.example' }, /SCR_BASE_URL must use http or https/],
    [{ LOG_LEVEL: 'verbose' }, /LOG_LEVEL must be one of/],
    [{ SECONDARY_USES: 'maybe' }, /SECONDARY_USES must be one of/],
    [{ RESEARCH_PSEUDONYM_SECRET: 'too short' }, /RESEARCH_PSEUDONYM_SECRET must be at least 32/],
    [{ RESEARCH_PSEUDONYM_SECRET: 'x'.repeat(32), RESEARCH_PSEUDONYM_SECRET_FILE: '/run/secret' }, /not both/],
  ])('stops with a clear message for %p', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('coalesces deliveries for 50 ms unless told otherwise, and refuses a negative or too long wait', () => {
    expect(loadConfig({}).delivery.coalesceMs).toBe(50);
    expect(loadConfig({ DELIVERY_COALESCE_MS: '0' }).delivery.coalesceMs).toBe(0);
    expect(() => loadConfig({ DELIVERY_COALESCE_MS: '-5' })).toThrow(/DELIVERY_COALESCE_MS must be a whole number/);
    expect(() => loadConfig({ DELIVERY_COALESCE_MS: '60000' })).toThrow(/DELIVERY_COALESCE_MS must be between/);
  });

  it('drops a trailing slash from the SCR base URL', () => {
    expect(loadConfig({ SCR_BASE_URL: 'https://scr.example.nhs.uk/fhir/' }).scrBaseUrl).toBe('https://scr.example.nhs.uk/fhir');
  });

  it('keeps the research store and its generated secret in the data folder unless told otherwise', () => {
    const config = loadConfig({ DATA_DIR: '/srv/crg', SECONDARY_USES: 'on' });
    expect(config.secondary).toEqual({
      enabled: true,
      storePath: '/srv/crg/research.sqlite',
      pseudonymSecret: undefined,
      pseudonymSecretFile: undefined,
      generatedSecretFile: '/srv/crg/research-secret',
    });
    expect(loadConfig({ SECONDARY_USES: 'off' }).secondary.enabled).toBe(false);
  });

  it('makes no research copy unless an operator turns secondary uses on', () => {
    expect(loadConfig({}).secondary.enabled).toBe(false);
  });
});
