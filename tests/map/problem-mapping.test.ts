import type { Condition } from 'fhir/r4';
import input from '../fixtures/records/problem.json';
import expected from '../fixtures/records/problem.expected.json';
import { asIngested, exampleRecord, mapResources, schemaChecker, validationErrors } from './record-type';

const record = () => asIngested(input);
const broken = (change: (data: any) => void) => {
  const bad = JSON.parse(JSON.stringify(input));
  change(bad.data);
  return schemaChecker.check(bad, '').flatMap((i) => i.expression);
};

describe('problem mapping', () => {
  it('maps a type 2 diabetes problem to the expected UKCore-Condition on the problem list (golden file)', async () => {
    expect(await mapResources(record())).toEqual(expected);
  });

  it('produces the Condition with no UK Core validation errors', async () => {
    expect(validationErrors(await mapResources(record()))).toEqual([]);
  });

  it('keeps an uncoded problem as text only', async () => {
    const r = record();
    (r.data as any).problem = { text: 'Poor appetite since October' };
    const condition = (await mapResources(r))[0] as Condition;
    expect(condition.code).toEqual({ text: 'Poor appetite since October' });
  });

  it('maps a resolved problem with the date it ended', async () => {
    const r = record();
    Object.assign(r.data, { clinicalStatus: 'resolved', abatementDate: '2026-10-02' });
    const condition = (await mapResources(r))[0] as Condition;
    expect(condition.abatementDateTime).toBe('2026-10-02');
    expect(validationErrors([condition])).toEqual([]);
  });

  it('refuses an end date on a problem that is still active (FHIR con-4), naming the field', () => {
    expect(broken((d) => (d.abatementDate = '2026-10-02'))).toContain('data.clinicalStatus');
  });

  it('refuses a clinical status on a record entered in error (FHIR con-5), naming the field', () => {
    expect(broken((d) => (d.verificationStatus = 'entered-in-error'))).toContain('data.clinicalStatus');
  });

  it('accepts the documented example in mappings/problem/example.json', () => {
    expect(schemaChecker.check(exampleRecord('problem'), '')).toEqual([]);
  });
});
