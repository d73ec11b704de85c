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
  /** A body written as it is produced (NDJSON, CSV) instead of `body`; it must respect backpressure. */
  stream?: { contentType: string; write: (out: Response) => Promise<void> };
}

/** Writes the reply; a streamed one settles when the stream ends, and a stream that fails cuts the connection. */
export function send(res: Response, reply: Reply): void | Promise<void> {
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  if (reply.stream) {
    res.status(reply.status);
    res.type(reply.stream.contentType);
    // Once the first byte has gone an OperationOutcome can no longer be sent: a cut connection tells the client.
    return reply.stream.write(res).then(() => void res.end(), (err: unknown) => void res.destroy(err instanceof Error ? err : undefined));
  }
  if (reply.body === undefined) {
    res.status(reply.status).end();
    return;
  }
  const json = JSON.stringify(reply.body);
  const type = reply.fhir ? 'application/fhir+json; charset=utf-8' : 'application/json; charset=utf-8';
  const method = res.req.method;
  if (method === 'GET' || method === 'HEAD') {
    // Express's send: an ETag, and 304 Not Modified to a conditional GET.
    res.status(reply.status);
    res.type(type);
    res.send(json);
    return;
  }
  // A POST's answer (202 for every accepted record) is never conditional: written as is, without hashing the
  // body for an ETag nobody can use (Express's send cost ~40 us of main-thread CPU a request here).
  res.statusCode = reply.status;
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', Buffer.byteLength(json));
  res.end(json);
}

export function handle(fn: (req: Request) => Promise<Reply> | Reply): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      await send(res, await fn(req));
    } catch (err) {
      next(err);
    }
  };
}

export const fhirOk = (body: unknown): Reply => ({ status: 200, body, fhir: true });
