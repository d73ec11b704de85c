/**
 * Structured JSON-lines logging with winston. Every line carries the request id (from AsyncLocalStorage)
 * and passes through redact(), so personal data never reaches a log whatever a call site passes.
 */
import winston from 'winston';
import { currentContext } from './request-context';
import { redact, redactString } from './redact';

/** Where winston's transports read the finished line (triple-beam's MESSAGE). */
const MESSAGE = Symbol.for('message');

/**
 * Redaction, request id, timestamp and JSON in one pass: one object built and one JSON.stringify per line.
 * (winston's redact -> timestamp -> json chain cost ~46 us a line, a third of it logform's json format, which
 * configures safe-stable-stringify afresh and sorts the keys on every line.) redact() returns fresh plain
 * data, depth-bounded and with a BigInt as its digits, so plain JSON.stringify writes every line.
 */
const lineFormat = winston.format((info) => {
  const { level, message, ...meta } = info;
  const line: Record<string, unknown> = {
    level,
    message: typeof message === 'string' ? redactString(message) : redact(message),
    ...(redact(meta) as Record<string, unknown>),
  };
  const requestId = currentContext()?.requestId;
  if (requestId) line.requestId = requestId;
  line.timestamp = new Date().toISOString();
  (info as unknown as Record<symbol, string>)[MESSAGE] = JSON.stringify(line);
  return info;
});

export type Logger = winston.Logger;

export function createLogger(level: string = 'info', stream?: NodeJS.WritableStream): Logger {
  const transport = stream
    ? new winston.transports.Stream({ stream })
    : new winston.transports.Console({ stderrLevels: ['error'] });
  return winston.createLogger({
    level,
    format: lineFormat(),
    transports: [transport],
  });
}
