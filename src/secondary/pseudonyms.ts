/**
 * Keyed pseudonyms, two levels deep:
 *   internal  = HMAC-SHA-256(secret, NHS number)              stored in the research store instead of the number
 *   project   = HMAC-SHA-256(projectKey, internal)            what an extract shows
 *   projectKey = HMAC-SHA-256(secret, "project:" + name)
 * So one project's extracts link up (same key, same pseudonym), two projects' do not, and the research store
 * itself holds no NHS number. Provider record ids are hashed the same way, under an "id:" prefix so an id
 * can never collide with a person's pseudonym.
 */
import { createHmac } from 'node:crypto';
import { normaliseNhsNumber } from '../ingest/nhs-number';

/** Identifier systems of the tokens in the research store; an extract re-keys every value under them. */
export const PSEUDONYM_SYSTEM = 'https://care-record-gateway.dev/fhir/Id/research-pseudonym';
export const HASHED_ID_SYSTEM = 'https://care-record-gateway.dev/fhir/Id/research-hashed-id';

const hmac = (key: Buffer, text: string): string => createHmac('sha256', key).update(text, 'utf8').digest('hex');

export class Pseudonyms {
  constructor(private readonly secret: Buffer) {}

  /** The internal pseudonym of a person, from their NHS number (spaces and dashes ignored). */
  person(nhsNumber: string): string {
    return hmac(this.secret, normaliseNhsNumber(nhsNumber));
  }

  /** The internal hash of any other identifier: a provider record id, a staff id. */
  id(system: string, value: string): string {
    return hmac(this.secret, `id:${system}|${value}`);
  }

  projectKey(project: string): ProjectKey {
    return new ProjectKey(Buffer.from(hmac(this.secret, `project:${project}`), 'hex'));
  }
}

export class ProjectKey {
  constructor(private readonly key: Buffer) {}

  /** An internal token (pseudonym or hashed id) as this project sees it. */
  token(internal: string): string {
    return hmac(this.key, internal);
  }
}
