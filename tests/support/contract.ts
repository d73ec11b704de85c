/**
 * Checks real HTTP answers against openapi.yaml, so the contract cannot drift from the code: the path and
 * method must be in the contract, the status must be one it lists, and the body must satisfy that
 * response's schema. (jest-openapi's path parser cannot read FHIR operation paths such as `$everything`.)
 */
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { Response } from 'supertest';
import { loadOpenApi } from '../../src/http/routes/ops';

type Json = Record<string, any>;

const spec = loadOpenApi() as Json;
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(spec, 'openapi');

const escapePointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');
const templates = Object.keys(spec.paths as Json)
  .map((template) => ({
    template,
    literal: !template.includes('{'),
    regex: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`),
  }))
  .sort((a, b) => Number(b.literal) - Number(a.literal));

function resolve(pointer: string): Json {
  return pointer.replace(/^#\//, '').split('/').reduce((node: Json, part) => node[part.replace(/~1/g, '/').replace(/~0/g, '~')], spec);
}

/** Throws with a readable reason when the answer is not what openapi.yaml promises. */
export function assertContract(res: Response): void {
  const request = (res as unknown as { req: { method: string; path: string } }).req;
  const method = request.method.toLowerCase();
  const pathname = new URL(request.path, 'http://x').pathname;
  const match = templates.find((t) => t.regex.test(pathname) && spec.paths[t.template][method]);
  if (!match) throw new Error(`${method.toUpperCase()} ${pathname} is not in openapi.yaml`);
  const responses = spec.paths[match.template][method].responses as Json;
  let pointer = `#/paths/${escapePointer(match.template)}/${method}/responses/${res.status}`;
  let response = responses[String(res.status)] as Json | undefined;
  if (!response) throw new Error(`openapi.yaml lists no ${res.status} for ${method.toUpperCase()} ${match.template}`);
  if (response.$ref) {
    pointer = response.$ref as string;
    response = resolve(pointer);
  }
  if (!response.content) return;
  const mediaType = String(res.headers['content-type'] ?? '').split(';')[0].trim();
  if (!response.content[mediaType]) {
    throw new Error(`${res.status} for ${match.template} is ${mediaType}; openapi.yaml says ${Object.keys(response.content).join(', ')}`);
  }
  const schemaRef = `openapi${pointer}/content/${escapePointer(mediaType)}/schema`;
  const validate = ajv.getSchema(schemaRef) ?? ajv.compile({ $ref: schemaRef });
  const body = mediaType.includes('json') ? res.body : res.text;
  if (!validate(body)) {
    throw new Error(`${res.status} body for ${match.template} breaks openapi.yaml: ${ajv.errorsText(validate.errors)}`);
  }
}
