/** What the loopback test proxies in front of the development SCR share: passing one request on and its answer back. */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The caller's headers, less those that describe the hop rather than the request. */
export function passOnHeaders(req: IncomingMessage): Record<string, string> {
  return Object.fromEntries(
    Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k)) as [string, string][],
  );
}

/**
 * Sends the request to `origin` and writes its answer to `res` (502 when it cannot be reached). `onStatus`
 * hears the status before the answer goes out, so a recorder's books are straight when the caller sees it.
 */
export async function forward(
  origin: string,
  req: IncomingMessage,
  body: Buffer | undefined,
  res: ServerResponse,
  options: { headers?: Record<string, string>; onStatus?: (status: number) => void } = {},
): Promise<void> {
  try {
    const answer = await fetch(`${origin}${req.url}`, { method: req.method, headers: options.headers ?? passOnHeaders(req), body });
    const payload = Buffer.from(await answer.arrayBuffer());
    options.onStatus?.(answer.status);
    res.writeHead(answer.status, { 'Content-Type': answer.headers.get('content-type') ?? 'application/fhir+json' });
    res.end(payload);
  } catch {
    options.onStatus?.(502);
    res.writeHead(502);
    res.end();
  }
}
