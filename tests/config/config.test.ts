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
  ])('stops with a clear message for %p', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('drops a trailing slash from the SCR base URL', () => {
    expect(loadConfig({ SCR_BASE_URL: 'https://scr.example.nhs.uk/fhir/' }).scrBaseUrl).toBe('https://scr.example.nhs.uk/fhir');
  });
});
