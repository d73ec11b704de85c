import type { Consent, Flag } from 'fhir/r4';
import input from '../fixtures/records/consent.json';
import expected from '../fixtures/records/consent.expected.json';
import { asIngested, exampleRecord, mapResources, schemaChecker, validationErrors } from './record-type';

const record = (data: Record<string, unknown> = {}) => {
  const r = asIngested(input);
  r.data = { ...r.data, ...data };
  return r;
};
const common = { status: 'active', decisionDateTime: '2026-11-10T14:30:00Z' };
const otherKinds: Record<string, Record<string, unknown>> = {
  respect: { kind: 'respect', ...common, cprRecommendation: 'do-not-attempt-cpr', decidedBy: { name: 'Dr A Patel' } },
  adrt: { kind: 'adrt', ...common, refusedTreatments: ['Mechanical ventilation, even if my life is at risk'] },
  lpa: { kind: 'lpa', ...common, lpaType: 'health-and-welfare', attorneys: [{ name: 'Peter Example', relatedPersonRecordId: 'RP-0002' }, { name: 'Jane Example' }] },
  dols: { kind: 'dols', ...common, validFrom: '2026-11-10', validUntil: '2027-05-09', supervisoryBody: { odsCode: '613', name: 'Leeds City Council' } },
};

describe('consent mapping', () => {
  it('maps a DNACPR decision to the expected UKCore-Consent and UKCore-Flag (golden file)', async () => {
    expect(await mapResources(record())).toEqual(expected);
  });

  it('produces a Consent and Flag with no UK Core validation errors', async () => {
    expect(validationErrors(await mapResources(record()))).toEqual([]);
  });

  it.each(Object.keys(otherKinds))('maps a %s record to a Consent and Flag with no UK Core validation errors', async (kind) => {
    const r = asIngested(input);
    r.data = otherKinds[kind];
    const resources = await mapResources(r);
    expect(resources.map((x) => x.resourceType)).toEqual(['Consent', 'Flag']);
    expect(validationErrors(resources)).toEqual([]);
  });

  it('records a ReSPECT CPR recommendation as a nested provision', async () => {
    const r = asIngested(input);
    r.data = otherKinds.respect;
    const consent = (await mapResources(r))[0] as Consent;
    expect(consent.provision?.provision?.[0]).toEqual(expect.objectContaining({ type: 'deny' }));
  });

  it('names each LPA attorney with the healthcare power of attorney role, linked to the related-person record when there is one', async () => {
    const r = asIngested(input);
    r.data = otherKinds.lpa;
    const consent = (await mapResources(r))[0] as Consent;
    expect(consent.provision?.actor?.map((a) => [a.role.coding?.[0].code, a.reference.identifier?.value ?? a.reference.display])).toEqual([
      ['HPOWATT', 'VNX12/related-person/RP-0002'],
      ['HPOWATT', 'Jane Example'],
    ]);
  });

  it('withdraws the flag when the decision is cancelled', async () => {
    const flag = (await mapResources(record({ status: 'inactive' })))[1] as Flag;
    expect(flag.status).toBe('inactive');
  });

  it('refuses a DoLS authorisation without its end date, naming the field', () => {
    const bad = JSON.parse(JSON.stringify(input));
    bad.data = { ...otherKinds.dols };
    delete bad.data.validUntil;
    expect(schemaChecker.check(bad, '').flatMap((i) => i.expression)).toContain('data.validUntil');
  });

  it('accepts the documented example in mappings/consent/example.json', () => {
    expect(schemaChecker.check(exampleRecord('consent'), '')).toEqual([]);
  });
});
