import type { CarePlan } from 'fhir/r4';
import input from '../fixtures/records/care-plan.json';
import expected from '../fixtures/records/care-plan.expected.json';
import { asIngested, exampleRecord, firstIdentifiers, mapResources, schemaChecker, validationErrors } from './record-type';

const record = () => asIngested(input);

describe('care-plan mapping', () => {
  it('maps a nutrition care plan to the expected UKCore-CarePlan and its Goals (golden file)', async () => {
    expect(await mapResources(record())).toEqual(expected);
  });

  it('produces a CarePlan and Goals with no UK Core validation errors', async () => {
    expect(validationErrors(await mapResources(record()))).toEqual([]);
  });

  it('keys each Goal on the provider goal id, so a new version of the plan updates the same Goals', async () => {
    expect(firstIdentifiers(await mapResources(record()))).toEqual([
      'VNX12/care-plan/CP-NUT-0042',
      'VNX12/care-plan/CP-NUT-0042/goal/G1',
      'VNX12/care-plan/CP-NUT-0042/goal/G2',
    ]);
  });

  it('keeps a single goal and a single activity as arrays', async () => {
    const r = record();
    Object.assign(r.data, {
      goals: [{ goalId: 'G1', description: 'Walks to the lounge daily', status: 'active' }],
      activities: [{ description: 'Walk with her to the lounge after lunch', status: 'in-progress' }],
    });
    delete (r.data as any).reviewDate;
    const plan = (await mapResources(r))[0] as CarePlan;
    expect(plan.goal).toHaveLength(1);
    expect(plan.activity).toHaveLength(1);
  });

  it('sends only the CarePlan when the plan has no goals, activities or needs', async () => {
    const r = record();
    r.data = { title: 'Personal care', status: 'draft', start: '2026-11-20' };
    const resources = await mapResources(r);
    expect(resources).toHaveLength(1);
    expect(Object.keys(resources[0]).sort()).toEqual(['author', 'category', 'identifier', 'intent', 'meta', 'period', 'resourceType', 'status', 'subject', 'title']);
  });

  it('accepts the documented example in mappings/care-plan/example.json', () => {
    expect(schemaChecker.check(exampleRecord('care-plan'), '')).toEqual([]);
  });
});
