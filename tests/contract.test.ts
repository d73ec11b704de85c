import type { Response } from 'supertest';
import { assertContract } from './support/contract';

/** The smallest stand-in for a supertest Response that assertContract reads. */
function answer(method: string, path: string, status: number, body: unknown, type = 'application/json'): Response {
  return { req: { method, path }, status, body, text: JSON.stringify(body), headers: { 'content-type': type } } as unknown as Response;
}

describe('the contract check used by the end-to-end tests', () => {
  it('passes an answer that matches openapi.yaml', () => {
    expect(() => assertContract(answer('GET', '/health', 200, { status: 'ok' }))).not.toThrow();
  });

  it('fails a body that breaks the response schema', () => {
    expect(() => assertContract(answer('GET', '/health', 200, { status: 'fine' }))).toThrow(/breaks openapi.yaml/);
  });

  it('fails a status the contract does not list', () => {
    expect(() => assertContract(answer('GET', '/health', 418, {}))).toThrow(/lists no 418/);
  });

  it('fails a path the contract does not have', () => {
    expect(() => assertContract(answer('GET', '/v2/secret', 200, {}))).toThrow(/not in openapi.yaml/);
  });

  it('matches FHIR operation paths such as $everything, and shared error responses', () => {
    const outcome = { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid' }] };
    expect(() => assertContract(answer('GET', '/fhir/Patient/abc/$everything', 400, outcome, 'application/fhir+json'))).not.toThrow();
    expect(() => assertContract(answer('GET', '/fhir/Patient/abc/$everything', 400, { oops: 1 }, 'application/fhir+json'))).toThrow();
  });
});
