import type { Observation, ObservationComponent } from 'fhir/r4';
import { loadValidator } from '../../src/validate';

const validator = loadValidator();
const PROFILE = 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-Observation-VitalSigns-BloodPressure';

function component(snomed: string, loinc: string, name: string, value: number, text?: string): ObservationComponent {
  return {
    code: {
      coding: [
        { system: 'http://snomed.info/sct', code: snomed },
        { system: 'http://loinc.org', code: loinc, display: name },
      ],
      ...(text ? { text } : {}),
    },
    valueQuantity: { value, unit: 'millimeter of mercury', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
  };
}

/** Shaped like the official UKCore-Observation-VitalSigns-BloodPressure-Example (not among the examples in shared/). */
function bloodPressure(withText: boolean): Observation {
  return {
    resourceType: 'Observation',
    meta: { profile: [PROFILE] },
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Blood pressure 107/60 mmHg</div>' },
    status: 'final',
    category: [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs', display: 'Vital Signs' }] },
    ],
    code: {
      coding: [
        { system: 'http://snomed.info/sct', code: '75367002', display: 'Blood pressure' },
        { system: 'http://loinc.org', code: '85354-9', display: 'Blood pressure panel with all children optional' },
      ],
    },
    subject: { reference: 'Patient/UKCore-Patient-RichardSmith-Example' },
    effectiveDateTime: '2019-06-11T10:00:00+00:00',
    component: [
      component('72313002', '8480-6', 'Systolic blood pressure', 107, withText ? 'Systolic blood pressure' : undefined),
      component('1091811000000102', '8462-4', 'Diastolic blood pressure', 60, withText ? 'Diastolic blood pressure' : undefined),
    ],
  };
}

describe('UK Core blood pressure: the component slicing is closed and discriminated by code.text', () => {
  it('accepts components that carry the code.text each slice fixes', () => {
    const errors = validator.validate(bloodPressure(true)).filter((i) => i.severity === 'error');
    expect(errors).toEqual([]);
  });

  it('rejects components without code.text, as the official example has them (a defect in the example)', () => {
    // UKCore-Observation-VitalSigns-BloodPressure slices Observation.component with
    //   discriminator value code.text, rules closed;
    //   component:SystolicBP 1..1 with code.text fixed "Systolic blood pressure",
    //   component:DiastolicBP 0..1 with code.text fixed "Diastolic blood pressure".
    // The official example's components have LOINC/SNOMED codings but no code.text, so neither matches a slice:
    // the closed slicing rejects both, and the mandatory SystolicBP slice is missing. We keep the rule.
    const errors = validator.validate(bloodPressure(false)).filter((i) => i.severity === 'error');
    expect(errors).toEqual([
      expect.objectContaining({ code: 'structure', expression: ['Observation.component[0]'] }),
      expect.objectContaining({ code: 'structure', expression: ['Observation.component[1]'] }),
      expect.objectContaining({ code: 'required', expression: ['Observation.component'], diagnostics: expect.stringContaining('SystolicBP') }),
    ]);
  });
});
