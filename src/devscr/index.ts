/**
 * The development shared care record: a real FHIR R4 server (Medplum's FhirRouter over an in-memory
 * repository) on loopback, started by main.ts when no SCR_BASE_URL is configured, and by tests.
 * For development only. The gateway must not depend on anything only this stand-in does: it has no
 * $everything and no chained search, like many production FHIR servers.
 */
import http from 'node:http';
import express from 'express';
import type { AddressInfo } from 'node:net';
import { FhirRouter } from '@medplum/fhir-router';
import type { Logger } from '../observability/logger';
import { AtomicMemoryRepository } from './atomic-repository';
import { metadataHandler } from './capability';
import { loadR4Definitions } from './definitions';
import { createFhirApp } from './http-adapter';

export interface DevScr {
  /** FHIR base URL, e.g. http://127.0.0.1:8103/fhir (no trailing slash). */
  baseUrl: string;
  close(): Promise<void>;
}

export interface DevScrOptions {
  /** 0 = any free port. */
  port: number;
  /** Defaults to 127.0.0.1: the development SCR has no authentication and must stay on loopback. */
  host?: string;
  logger?: Logger;
}

export async function startDevScr({ port, host = '127.0.0.1', logger }: DevScrOptions): Promise<DevScr> {
  loadR4Definitions();
  const router = new FhirRouter();
  router.add('GET', 'metadata', metadataHandler);
  const repo = new AtomicMemoryRepository();

  let baseUrl = '';
  const app = express().disable('x-powered-by').disable('etag');
  app.use('/fhir', createFhirApp({ router, repo, baseUrl: () => baseUrl, logger }));
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  baseUrl = `http://${urlHost}:${address.port}/fhir`;
  logger?.warn('Development SCR started: FOR DEVELOPMENT ONLY, in memory, not a shared care record', {
    baseUrl,
  });

  return {
    baseUrl,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
