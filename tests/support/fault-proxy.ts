/**
 * A shared care record that misbehaves on demand: a loopback proxy in front of the real development SCR
 * that passes requests through, refuses transactions with 422, or is "down" (503 / connection closed).
 * The SCR is outside the gateway, so its failures are what a test may script.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startDevScr, type DevScr } from '../../src/devscr';
import { forward } from './forward';

export type FaultMode = 'pass' | 'reject' | 'unavailable';

export interface FaultProxy {
  baseUrl: string;
  mode: FaultMode;
  transactionsSeen: number;
  /** Hold each transaction this long before passing it on, so sends are in flight when a test strikes. */
  delayMs: number;
  close(): Promise<void>;
}

export async function startFaultProxy(): Promise<FaultProxy> {
  const scr: DevScr = await startDevScr({ port: 0 });
  const state: FaultProxy = { baseUrl: '', mode: 'pass', transactionsSeen: 0, delayMs: 0, close: async () => undefined };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const isTransaction = req.method === 'POST' && /^\/fhir\/?$/.test(req.url ?? '');
      if (isTransaction) state.transactionsSeen++;
      if (state.mode === 'unavailable') {
        res.writeHead(503, { 'Content-Type': 'application/fhir+json', 'Retry-After': '0' });
        res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient' }] }));
        return;
      }
      if (state.mode === 'reject' && isTransaction) {
        res.writeHead(422, { 'Content-Type': 'application/fhir+json' });
        res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'business-rule', diagnostics: 'refused by test SCR' }] }));
        return;
      }
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      void new Promise((resolve) => setTimeout(resolve, isTransaction ? state.delayMs : 0)).then(() => forward(new URL(scr.baseUrl).origin, req, body, res));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  state.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await scr.close();
  };
  return state;
}
