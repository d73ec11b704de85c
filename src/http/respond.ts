/**
 * The one adapter between stages and HTTP: handlers return a Reply (or throw an OperationOutcomeError),
 * and this writes it. Handlers never touch `res` themselves.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** FHIR resources are sent as application/fhir+json, everything else as application/json. */
  fhir?: boolean;
}

export function send(res: Response, reply: Reply): void {
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  if (reply.body === undefined) {
    res.status(reply.status).end();
    return;
  }
  res.status(reply.status);
  res.type(reply.fhir ? 'application/fhir+json' : 'application/json');
  res.send(JSON.stringify(reply.body));
}

export function handle(fn: (req: Request) => Promise<Reply> | Reply): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      send(res, await fn(req));
    } catch (err) {
      next(err);
    }
  };
}

export const fhirOk = (body: unknown): Reply => ({ status: 200, body, fhir: true });
