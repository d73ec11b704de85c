import type { DocumentReference } from 'fhir/r4';
import input from '../fixtures/records/care-note.json';
import expected from '../fixtures/records/care-note.expected.json';
import { asIngested, exampleRecord, mapResources, schemaChecker, validationErrors } from './record-type';

const record = (data: Record<string, unknown> = {}) => {
  const r = asIngested(input);
  r.data = { ...r.data, ...data };
  return r;
};
const note = async (data: Record<string, unknown>) => (await mapResources(record(data)))[0] as DocumentReference;
const decoded = (doc: DocumentReference) => Buffer.from(doc.content[0].attachment.data ?? '', 'base64').toString('utf8');

describe('care-note mapping', () => {
  it('maps a night-shift note to the expected UKCore-DocumentReference (golden file)', async () => {
    expect(await mapResources(record())).toEqual(expected);
  });

  it('produces a DocumentReference with no UK Core validation errors', async () => {
    expect(validationErrors(await mapResources(record()))).toEqual([]);
  });

  it('keeps every character of the note through the UTF-8 attachment, beyond Latin-1 too', async () => {
    const text = 'Zoë ate well – “lovely” she said 😊. Temp 37.2 °C; 100% of lunch';
    expect(decoded(await note({ text }))).toBe(text);
  });

  it('names the care provider as author when no staff member is given', async () => {
    const r = record();
    delete (r.data as any).authorStaffRecordId;
    const doc = (await mapResources(r))[0] as DocumentReference;
    expect(doc.author).toEqual([{ type: 'Organization', identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'VNX12' } }]);
  });

  it('withdraws a note entered in error', async () => {
    expect((await note({ status: 'entered-in-error' })).status).toBe('entered-in-error');
  });

  it('refuses an empty note, naming the field', () => {
    const bad = JSON.parse(JSON.stringify(input));
    bad.data.text = '';
    expect(schemaChecker.check(bad, '').flatMap((i) => i.expression)).toEqual(['data.text']);
  });

  it('accepts the documented example in mappings/care-note/example.json', () => {
    expect(schemaChecker.check(exampleRecord('care-note'), '')).toEqual([]);
  });
});
