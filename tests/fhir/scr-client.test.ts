/**
 * ScrClient against real servers on loopback: the development SCR for FHIR behaviour, and small
 * node:http servers for the failures a production SCR can answer with (they cannot be provoked from
 * the development SCR).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import type { Bundle, BundleEntry, Observation, Organization, Patient, Practitioner, Resource } from 'fhir/r4';
import { startDevScr, type DevScr } from '../../src/devscr';
import { ScrClient } from '../../src/fhir/scr-client';
import { ScrError } from '../../src/fhir/scr-error';
import { createLogger } from '../../src/observability/logger';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A loopback HTTP server answering with `handler`; returns its base URL and a close function. */
async function serve(handler: Handler): Promise<{ baseUrl: string; close: () => Promise<void>; paths: string[] }> {
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    paths.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/fhir`,
    paths,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function failure(promise: Promise<unknown>): Promise<ScrError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ScrError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

const patient = (nhsNumber: string, fullUrl: string): NonNullable<Bundle['entry']>[number] => ({
  fullUrl,
  resource: { resourceType: 'Patient', identifier: [{ system: NHS, value: nhsNumber }], name: [{ family: 'Example' }] } as Patient,
  request: { method: 'PUT', url: `Patient?identifier=${NHS}|${nhsNumber}` },
});

const observationOf = (reference: string, text: string): NonNullable<Bundle['entry']>[number] => ({
  resource: { resourceType: 'Observation', status: 'final', code: { text }, subject: { reference } } as Observation,
  request: { method: 'POST', url: 'Observation' },
});

describe('ScrClient errors', () => {
  it('makes a 503 with Retry-After: 2 a retryable ScrError waiting 2000 ms', async () => {
    const server = await serve((_req, res) => res.writeHead(503, { 'Retry-After': '2' }).end());
    const client = new ScrClient({ baseUrl: server.baseUrl, timeoutMs: 2000 });

    const error = await failure(client.read('Patient', 'p1'));
    await server.close();

    expect([error.status, error.retryable, error.retryAfterMs]).toEqual([503, true, 2000]);
  });

  it('makes a 422 with an OperationOutcome a ScrError that is not retryable and keeps the SCR\'s OperationOutcome', async () => {
    const scrOutcome = {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'business-rule', diagnostics: 'Patient.birthDate is in the future' }],
    };
    const server = await serve((_req, res) =>
      res.writeHead(422, { 'Content-Type': 'application/fhir+json' }).end(JSON.stringify(scrOutcome)),
    );
    const client = new ScrClient({ baseUrl: server.baseUrl, timeoutMs: 2000 });

    const error = await failure(client.transaction({ resourceType: 'Bundle', type: 'transaction', entry: [] }));
    await server.close();

    expect([error.status, error.retryable]).toEqual([422, false]);
    expect(error.outcome).toEqual(scrOutcome);
  });

  it('makes a refused connection a retryable ScrError with no status', async () => {
    const server = await serve(() => undefined);
    await server.close();
    const client = new ScrClient({ baseUrl: server.baseUrl, timeoutMs: 2000 });

    const error = await failure(client.search('Patient', { identifier: `${NHS}|9434765919` }));

    expect([error.status, error.retryable]).toEqual([undefined, true]);
  });

  it('makes a time-out a retryable ScrError', async () => {
    const server = await serve(() => undefined); // never answers
    const client = new ScrClient({ baseUrl: server.baseUrl, timeoutMs: 200 });

    const error = await failure(client.read('Patient', 'p1'));
    await server.close();

    expect([error.status, error.retryable, error.outcome.issue[0].code]).toEqual([undefined, true, 'timeout']);
  });

  it('keeps NHS numbers and URLs out of its error messages', async () => {
    const server = await serve((_req, res) => res.writeHead(500).end('<html>9434765919</html>'));
    const client = new ScrClient({ baseUrl: server.baseUrl, timeoutMs: 2000 });

    const error = await failure(client.search('Patient', { identifier: `${NHS}|9434765919` }));
    await server.close();

    expect(error.message).not.toMatch(/9434765919|http/);
  });

  it('answers ping with false when nothing listens', async () => {
    const server = await serve(() => undefined);
    await server.close();
    const client = new ScrClient({ baseUrl: server.baseUrl, timeoutMs: 500 });

    expect(await client.ping()).toBe(false);
  });

  it('writes no NHS number or URL to its logs, even at debug', async () => {
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
    const server = await serve((_req, res) => res.writeHead(500).end('{"resourceType":"OperationOutcome","issue":[]}'));
    const client = new ScrClient({ baseUrl: server.baseUrl, timeoutMs: 2000, logger: createLogger('debug', stream) });

    await failure(client.search('Patient', { identifier: `${NHS}|9434765919` }));
    await server.close();

    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('')).not.toMatch(/943\D?476\D?5919|127\.0\.0\.1|nhs-number/);
  });

  it('does not follow a next link to another host', async () => {
    const page: Bundle = { resourceType: 'Bundle', type: 'searchset', link: [{ relation: 'next', url: 'http://elsewhere.example/fhir/Patient?page=2' }] };
    const server = await serve((_req, res) => res.writeHead(200).end(JSON.stringify(page)));
    const client = new ScrClient({ baseUrl: server.baseUrl, timeoutMs: 2000 });

    const error = await failure(client.search('Patient', {}));
    await server.close();

    expect([error.retryable, server.paths.length]).toEqual([false, 1]);
  });
});

/** The id a transaction entry wrote, from its location ("Patient/<id>" or ".../Patient/<id>/_history/1"). */
function writtenId(entry: BundleEntry | undefined): string {
  const location = entry?.response?.location ?? '';
  return /([A-Za-z]+)\/([^/]+)(\/_history\/[^/]+)?$/.exec(location)?.[2] ?? '';
}

describe('ScrClient against the development SCR', () => {
  let scr: DevScr;
  let client: ScrClient;
  beforeEach(async () => {
    scr = await startDevScr({ port: 0 });
    client = new ScrClient({ baseUrl: scr.baseUrl, timeoutMs: 5000 });
  });
  afterEach(async () => {
    await scr.close();
  });

  async function storeTwoPatients(): Promise<{ edith: string; other: string }> {
    const answer = await client.transaction({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        patient('9434765919', 'urn:uuid:3f8c1a52-5d0e-4c47-9a0e-0d1f6f7b6a01'),
        patient('9000000009', 'urn:uuid:3f8c1a52-5d0e-4c47-9a0e-0d1f6f7b6a02'),
        observationOf('urn:uuid:3f8c1a52-5d0e-4c47-9a0e-0d1f6f7b6a01', 'Edith\'s weight'),
        observationOf('urn:uuid:3f8c1a52-5d0e-4c47-9a0e-0d1f6f7b6a02', 'Other resident\'s weight'),
      ],
    });
    const ids = (answer.entry ?? []).map(writtenId);
    return { edith: ids[0], other: ids[1] };
  }

  it('asks for minimal transaction answers: each entry\'s status and location, not the resources written', async () => {
    const answer = await client.transaction({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [patient('9434765919', 'urn:uuid:3f8c1a52-5d0e-4c47-9a0e-0d1f6f7b6a09')],
    });
    expect(answer.entry).toHaveLength(1);
    expect(answer.entry?.[0].resource).toBeUndefined();
    expect(answer.entry?.[0].response?.status).toMatch(/^20[01]/);
    expect(writtenId(answer.entry?.[0])).not.toBe('');
    expect((await client.read('Patient', writtenId(answer.entry?.[0]))).resourceType).toBe('Patient');
  });

  it('answers ping with true', async () => {
    expect(await client.ping()).toBe(true);
  });

  it('falls back to Patient compartment searches for $everything: the Patient and its Observation, not another patient\'s', async () => {
    const { edith } = await storeTwoPatients();

    const everything = await client.patientEverything(edith);

    const texts = (everything.entry ?? []).map((e) => {
      const r = e.resource as Resource;
      return r.resourceType === 'Observation' ? (r as Observation).code.text : r.resourceType;
    });
    expect(texts.sort()).toEqual(['Edith\'s weight', 'Patient']);
    expect(everything.type).toBe('searchset');
  });

  it('adds to the fallback $everything the Organization and Practitioner the record references, once each', async () => {
    const answer = await client.transaction({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:0b9e2f4c-7a3d-4e21-8c55-1a2b3c4d5e01', resource: { resourceType: 'Organization', name: 'Rose Court' } as Organization, request: { method: 'POST', url: 'Organization' } },
        { fullUrl: 'urn:uuid:0b9e2f4c-7a3d-4e21-8c55-1a2b3c4d5e02', resource: { resourceType: 'Practitioner', name: [{ family: 'Jones' }] } as Practitioner, request: { method: 'POST', url: 'Practitioner' } },
        {
          ...patient('9434765919', 'urn:uuid:0b9e2f4c-7a3d-4e21-8c55-1a2b3c4d5e03'),
          resource: {
            resourceType: 'Patient',
            identifier: [{ system: NHS, value: '9434765919' }],
            managingOrganization: { reference: 'urn:uuid:0b9e2f4c-7a3d-4e21-8c55-1a2b3c4d5e01' },
            generalPractitioner: [{ reference: 'urn:uuid:0b9e2f4c-7a3d-4e21-8c55-1a2b3c4d5e02' }],
          } as Patient,
        },
        {
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { text: 'Weight' },
            subject: { reference: 'urn:uuid:0b9e2f4c-7a3d-4e21-8c55-1a2b3c4d5e03' },
            performer: [{ reference: 'urn:uuid:0b9e2f4c-7a3d-4e21-8c55-1a2b3c4d5e02' }],
          } as Observation,
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    });
    const patientId = writtenId(answer.entry?.[2]);

    const everything = await client.patientEverything(patientId);

    const kinds = (everything.entry ?? []).map((e) => `${e.resource?.resourceType}:${e.search?.mode}`).sort();
    expect(kinds).toEqual(['Observation:match', 'Organization:include', 'Patient:match', 'Practitioner:include']);
  });

  it('follows next links and returns every page\'s entries once', async () => {
    const { edith } = await storeTwoPatients();
    const entry = Array.from({ length: 120 }, (_, i) => observationOf(`Patient/${edith}`, `reading ${i}`));
    await client.transaction({ resourceType: 'Bundle', type: 'transaction', entry });

    const found = await client.search('Observation', { patient: `Patient/${edith}` });

    const ids = new Set((found.entry ?? []).map((e) => e.resource?.id));
    expect([found.entry?.length, ids.size, found.total]).toEqual([121, 121, 121]);
  });

  it('answers read of a missing resource with a 404 ScrError that is not retryable', async () => {
    const error = await failure(client.read('Patient', 'no-such-patient'));

    expect([error.status, error.retryable]).toEqual([404, false]);
  });
});

describe('ScrClient with an SCR that has $everything', () => {
  it('uses the SCR\'s own Patient $everything and makes no compartment searches', async () => {
    const record: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [{ resource: { resourceType: 'Patient', id: 'p1' } as Patient }],
    };
    const server = await serve((_req, res) => res.writeHead(200).end(JSON.stringify(record)));
    const client = new ScrClient({ baseUrl: server.baseUrl, timeoutMs: 2000 });

    const everything = await client.patientEverything('p1');
    await server.close();

    expect(everything.entry?.map((e) => e.resource?.id)).toEqual(['p1']);
    expect(server.paths).toEqual(['/fhir/Patient/p1/$everything']);
  });
});
