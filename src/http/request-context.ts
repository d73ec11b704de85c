/** Gives every request an id (or keeps a sane X-Request-ID from the caller), echoes it, and logs one line per request. */
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../observability/logger';
import { runWithContext } from '../observability/request-context';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const given = req.header('x-request-id');
    const requestId = given && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-ID', requestId);
    const started = process.hrtime.bigint();
    const context = { requestId };
    runWithContext(context, () => {
      // Run in this request's context so the line carries its id whichever context emits 'finish'
      // (cheaper than AsyncResource.bind, which makes an async resource and a deprecation wrapper per call).
      res.on('finish', () => runWithContext(context, () => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        // The route pattern, not the raw path: raw paths and query strings can hold NHS numbers.
        const route = (req.route?.path as string | undefined) ?? 'unmatched';
        logger.info('request', { method: req.method, route: `${req.baseUrl}${route}`, status: res.statusCode, ms: Math.round(ms * 10) / 10 });
      }));
      next();
    });
  };
}
