import type { Patient } from 'fhir/r4';
import { loadValidator } from '../../src/validate';

const validator = loadValidator();
const VERIFICATION = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus';

/** A resident as the gateway maps one: UK Core Patient, NHS number with its verification status. */
function resident(): Patient {
  return {
    resourceType: 'Patient',
    meta: { profile: ['https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient'] },
    identifier: [
      {
        extension: [
          {
            url: VERIFICATION,
            valueCodeableConcept: {
              coding: [
                {
                  system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland',
                  code: '01',
                  display: 'Number present and verified',
                },
              ],
            },
          },
        ],
        system: 'https://fhir.nhs.uk/Id/nhs-number',
        value: '9434765919',
      },
    ],
    name: [{ use: 'official', family: 'Example', given: ['Edith', 'May'], prefix: ['Mrs'] }],
    telecom: [{ system: 'phone', value: '0113 496 0000', use: 'home' }],
    gender: 'female',
    birthDate: '1936-03-14',
    address: [{ use: 'home', line: ['Rose Court Care Home', '1 Garden Lane'], city: 'Leeds', postalCode: 'LS1 4AP' }],
  };
}

const errors = (patient: Patient) => validator.validate(patient).filter((i) => i.severity === 'error');

describe('a UK Core Patient built like the gateway builds residents', () => {
  it('passes with no errors', () => {
    expect(errors(resident())).toEqual([]);
  });

  it('rejects an NHS number verification status code outside its required ValueSet', () => {
    const patient = resident();
    patient.identifier![0].extension![0].valueCodeableConcept!.coding![0].code = '99';
    expect(errors(patient)).toContainEqual(
      expect.objectContaining({ code: 'code-invalid', expression: ['Patient.identifier[0].extension[0].valueCodeableConcept'] }),
    );
  });

  it('rejects a verification status extension carrying a string instead of a CodeableConcept', () => {
    const patient = resident();
    patient.identifier![0].extension![0] = { url: VERIFICATION, valueString: '01' };
    expect(errors(patient)).toContainEqual(
      expect.objectContaining({ code: 'structure', expression: ['Patient.identifier[0].extension[0].valueString'] }),
    );
  });

  it('rejects two NHS numbers (the nhsNumber slice allows one)', () => {
    const patient = resident();
    patient.identifier!.push({ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9434765870' });
    expect(errors(patient)).toContainEqual(expect.objectContaining({ expression: ['Patient.identifier'] }));
  });

  it('rejects a modifier extension it does not know', () => {
    const patient = { ...resident(), modifierExtension: [{ url: 'https://example.org/fhir/do-not-resuscitate', valueBoolean: true }] };
    expect(errors(patient)).toContainEqual(expect.objectContaining({ code: 'not-supported', expression: ['Patient.modifierExtension[0]'] }));
  });

  it('rejects a birth date that is not a FHIR date', () => {
    const patient = { ...resident(), birthDate: '14/03/1936' };
    expect(errors(patient)).toContainEqual(expect.objectContaining({ code: 'value', expression: ['Patient.birthDate'] }));
  });

  it('rejects a gender outside administrative-gender', () => {
    const patient = { ...resident(), gender: 'f' } as unknown as Patient;
    expect(errors(patient)).toContainEqual(expect.objectContaining({ code: 'code-invalid', expression: ['Patient.gender'] }));
  });
});
