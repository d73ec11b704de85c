import type { Bundle, Observation, Patient } from 'fhir/r4';
import { loadValidator } from '../../src/validate';
import { loadExamples } from './examples';

const validator = loadValidator();
const examples = loadExamples();
const UKCORE = 'https://fhir.hl7.org.uk/StructureDefinition/';
const errors = (resource: Bundle | Observation) => validator.validate(resource).filter((i) => i.severity === 'error');

function news2Bundle(): Bundle {
  const example = examples.find((e) => e.file === 'UKCore-Bundle-NEWS2Observations-Example.json')!;
  return JSON.parse(JSON.stringify(example.resource)) as Bundle;
}

describe('resources inside resources', () => {
  it('validates each Bundle entry against the profile it claims', () => {
    const bundle = news2Bundle();
    const entry = bundle.entry![0].resource as Observation;
    entry.meta = { profile: [`${UKCORE}UKCore-Observation-VitalSigns-HeartRate`] };
    const found = errors(bundle);
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((i) => i.expression![0].startsWith('Bundle.entry[0].resource'))).toBe(true);
  });

  it('validates each Bundle entry against its base type without a claimed profile', () => {
    const bundle = news2Bundle();
    (bundle.entry![1].resource as Observation).status = 'done' as Observation['status'];
    expect(errors(bundle)).toContainEqual(
      expect.objectContaining({ code: 'code-invalid', expression: ['Bundle.entry[1].resource.status'] }),
    );
  });

  it('validates a contained resource against the profile it claims', () => {
    const observation: Observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'Weight' },
      subject: { reference: '#resident' },
      contained: [
        {
          resourceType: 'Patient',
          id: 'resident',
          meta: { profile: [`${UKCORE}UKCore-Patient`] },
          identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number' }],
        } as Patient,
      ],
    };
    expect(errors(observation)).toEqual([
      expect.objectContaining({ code: 'required', expression: ['Observation.contained[0].identifier[0].value'] }),
    ]);
  });

  it('rejects a local reference to a contained resource that is not there (ref-1)', () => {
    const observation: Observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'Weight' },
      subject: { reference: '#nobody' },
    };
    expect(errors(observation)).toEqual([expect.objectContaining({ code: 'invariant', expression: ['Observation.subject'] })]);
  });

  it('rejects a reference to a resource type the element does not allow', () => {
    const observation: Observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'Weight' },
      subject: { reference: 'Medication/123' },
    };
    expect(errors(observation)).toEqual([
      expect.objectContaining({ code: 'structure', expression: ['Observation.subject.reference'] }),
    ]);
  });
});
