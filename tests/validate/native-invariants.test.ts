import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import type { Observation } from 'fhir/r4';
import { loadValidator } from '../../src/validate';

const validator = loadValidator();
const VITAL_SIGNS = 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-Observation-VitalSigns';
const LOINC_RULE = "code.coding.where(system='http://loinc.org').exists()";
const OBS_7 = 'value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()';

const pulse: Observation = {
  resourceType: 'Observation',
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
  subject: { reference: 'Patient/1' },
  effectiveDateTime: '2026-10-01T08:42:19Z',
  valueQuantity: { value: 77, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
};

const variants: [string, Observation][] = [
  ['a LOINC coding', pulse],
  ['a SNOMED coding only', { ...pulse, code: { coding: [{ system: 'http://snomed.info/sct', code: '364075005' }] } }],
  ['a coding with no system', { ...pulse, code: { coding: [{ code: '8867-4' }] } }],
  ['LOINC second of two codings', { ...pulse, code: { coding: [{ system: 'http://snomed.info/sct', code: '364075005' }, pulse.code.coding![0]] } }],
  ['a value and a component coded as the Observation', { ...pulse, component: [{ code: pulse.code, valueQuantity: pulse.valueQuantity }] }],
  ['a value and a component coded otherwise', { ...pulse, component: [{ code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: pulse.valueQuantity }] }],
  ['a component coded as the Observation and no value', { ...pulse, valueQuantity: undefined, component: [{ code: pulse.code, valueQuantity: pulse.valueQuantity }] }],
];

const holds = (expression: string, resource: Observation): boolean => {
  const result = fhirpath.evaluate(resource, expression, { resource }, r4) as unknown[];
  return !(result.length === 1 && result[0] === false);
};

describe.each(variants)('the native vital-signs invariants agree with fhirpath for an Observation with %s', (_name, observation) => {
  const resource = JSON.parse(JSON.stringify(observation)) as Observation;
  const issues = validator.validate(resource, { profile: VITAL_SIGNS });

  it('reports ukcore-obs-vs-001 exactly when fhirpath finds no LOINC coding', () => {
    expect(issues.some((i) => i.diagnostics?.startsWith('ukcore-obs-vs-001'))).toBe(!holds(LOINC_RULE, resource));
  });

  it('reports obs-7 exactly when fhirpath finds a component coded as the Observation beside a value', () => {
    expect(issues.some((i) => i.diagnostics?.startsWith('obs-7'))).toBe(!holds(OBS_7, resource));
  });
});
