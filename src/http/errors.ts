/**
 * Every error answer is a FHIR OperationOutcome; the status comes from OperationOutcomeError, or from the
 * body parser's own error types. Anything unexpected is a 500 that reveals nothing but the request id.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { OperationOutcomeError, internalError, issue, outcome } from '../fhir/operation-outcome';
import { ScrError } from '../fhir/scr-error';
import type { Logger } from '../observability/logger';
import { currentContext } from '../observability/request-context';
import { send } from './respond';

interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
}

function fromBodyParser(err: BodyParserError): OperationOutcomeError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new OperationOutcomeError(400, [issue('error', 'structure', 'The body is not valid JSON', '$')]);
    case 'entity.too.large':
      return new OperationOutcomeError(413, [issue('error', 'too-long', `The body is larger than ${err.limit} bytes`, '$')]);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new OperationOutcomeError(415, [issue('error', 'not-supported', 'Unsupported body encoding or charset')]);
    case 'request.aborted':
      return new OperationOutcomeError(400, [issue('error', 'incomplete', 'The request was aborted')]);
    default:
      return undefined;
  }
}

/** The SCR's failures as the caller should see them: its 404 is ours; anything else is a 502 without its internals. */
function fromScr(err: ScrError): OperationOutcomeError {
  if (err.status === 404) return new OperationOutcomeError(404, [issue('error', 'not-found', 'Not found in the shared care record')]);
  return new OperationOutcomeError(502, [issue('error', 'transient', 'The shared care record did not answer as expected')]);
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    const known =
      err instanceof OperationOutcomeError ? err : err instanceof ScrError ? fromScr(err) : fromBodyParser(err as BodyParserError);
    if (known) {
      if (known.status >= 500) logger.error('request failed', { status: known.status, error: known.message });
      send(res, { status: known.status, body: known.outcome, headers: known.headers, fhir: true });
      return;
    }
    logger.error('unexpected error', { error: err instanceof Error ? err : String(err) });
    send(res, { status: 500, body: internalError(currentContext()?.requestId), fhir: true });
  };
}

export const notFoundHandler: RequestHandler = (req, res) => {
  send(res, {
    status: 404,
    body: outcome([issue('error', 'not-found', `No route for ${req.method} ${req.path}`)]),
    fhir: true,
  });
};

/** POST/PUT bodies must say they are JSON; anything else is a 415 before any parsing. */
export function requireJson(types: string[]): RequestHandler {
  return (req, _res, next) => {
    if (!req.is(types)) {
      next(new OperationOutcomeError(415, [issue('error', 'not-supported', `Content-Type must be one of: ${types.join(', ')}`)]));
      return;
    }
    next();
  };
}
