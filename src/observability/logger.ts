/**
 * Structured JSON-lines logging with winston. Every line carries the request id (from AsyncLocalStorage)
 * and passes through redact(), so personal data never reaches a log whatever a call site passes.
 */
import winston from 'winston';
import { currentContext } from './request-context';
import { redact, redactString } from './redact';

const redactFormat = winston.format((info) => {
  const { level, message, ...meta } = info;
  const clean = redact(meta) as Record<string, unknown>;
  for (const key of Object.keys(meta)) delete (info as Record<string, unknown>)[key];
  Object.assign(info, clean);
  info.level = level;
  info.message = typeof message === 'string' ? redactString(message) : redact(message);
  const requestId = currentContext()?.requestId;
  if (requestId) info.requestId = requestId;
  return info;
});

export type Logger = winston.Logger;

export function createLogger(level: string = 'info', stream?: NodeJS.WritableStream): Logger {
  const transport = stream
    ? new winston.transports.Stream({ stream })
    : new winston.transports.Console({ stderrLevels: ['error'] });
  return winston.createLogger({
    level,
    format: winston.format.combine(redactFormat(), winston.format.timestamp(), winston.format.json()),
    transports: [transport],
  });
}
