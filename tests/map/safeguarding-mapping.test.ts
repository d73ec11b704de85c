import type { Flag } from 'fhir/r4';
import input from '../fixtures/records/safeguarding.json';
import expected from '../fixtures/records/safeguarding.expected.json';
import { asIngested, exampleRecord, mapResources, schemaChecker, validationErrors } from './record-type';

const record = () => asIngested(input);

describe('safeguarding mapping', () => {
  it('maps an open safeguarding concern to the expected UKCore-Flag, and nothing else (golden file)', async () => {
    expect(await mapResources(record())).toEqual(expected);
  });

  it('produces a Flag with no UK Core validation errors', async () => {
    expect(validationErrors(await mapResources(record()))).toEqual([]);
  });

  it('labels the flag restricted so the shared record can limit who sees it', async () => {
    const flag = (await mapResources(record()))[0] as Flag;
    expect(flag.meta?.security).toEqual([{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R', display: 'restricted' }]);
  });

  it('refuses any narrative, naming the field', () => {
    const bad = JSON.parse(JSON.stringify(input));
    bad.data.details = 'Bruising noticed on both forearms after a family visit';
    expect(schemaChecker.check(bad, '').flatMap((i) => i.expression)).toEqual(['data.details']);
  });

  it('accepts the documented example in mappings/safeguarding/example.json', () => {
    expect(schemaChecker.check(exampleRecord('safeguarding'), '')).toEqual([]);
  });
});
