import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/observability/logger';
import { runWithContext } from '../../src/observability/request-context';
import { redact } from '../../src/observability/redact';

function capture() {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
  return { logger: createLogger('debug', stream), lines };
}

describe('redacting logger', () => {
  it('masks NHS numbers, names, birth dates and addresses wherever they are passed', async () => {
    const { logger, lines } = capture();
    logger.info('lookup for 943 476 5919 failed', {
      nhsNumber: '9434765919',
      patient: { name: [{ family: 'Example', given: ['Edith'] }], birthDate: '1936-03-14', address: { line: ['1 Garden Lane'] } },
      note: 'born 14/03/1936, NHS 9434765919',
    });
    await new Promise((r) => setImmediate(r));
    const text = lines.join('\n');
    for (const secret of ['9434765919', '943 476 5919', 'Example', 'Edith', '1936-03-14', '14/03/1936', 'Garden Lane']) {
      expect(text).not.toContain(secret);
    }
    expect(JSON.parse(lines[0])).toMatchObject({ level: 'info', message: 'lookup for *** failed' });
  });

  it('adds the request id from the request context to every line', async () => {
    const { logger, lines } = capture();
    runWithContext({ requestId: 'req-123' }, () => logger.info('inside'));
    await new Promise((r) => setImmediate(r));
    expect(JSON.parse(lines[0]).requestId).toBe('req-123');
  });

  it('keeps operational fields that are not personal data', () => {
    expect(redact({ status: 422, route: '/v1/records', ms: 3.2 })).toEqual({ status: 422, route: '/v1/records', ms: 3.2 });
  });

  it('masks an Authorization header', () => {
    expect(redact({ headers: { Authorization: 'Bearer abc' } })).toEqual({ headers: { Authorization: '***' } });
  });
});
