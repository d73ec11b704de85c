/**
 * The de-identification rules (mappings/deidentify.json), element by element: each action does what it
 * says, and anything the rules do not name is removed.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Patient, Resource } from 'fhir/r4';
import { MAPPINGS_DIR } from '../../src/config/paths';
import { mapRecord, type ProviderRecord } from '../../src/map/map-record';
import { loadMappings } from '../../src/map/mapping-registry';
import { Deidentifier, postcodeDistrict } from '../../src/secondary/deidentify';
import { loadRules, parseRules } from '../../src/secondary/deidentify-rules';
import { HASHED_ID_SYSTEM, PSEUDONYM_SYSTEM, Pseudonyms } from '../../src/secondary/pseudonyms';

const pseudonyms = new Pseudonyms(Buffer.from('a test secret that is long enough to use'));
const deidentifier = new Deidentifier(loadRules(), pseudonyms);
const AT = new Date('2026-11-20T12:00:00Z');
const NHS = '9434765919';
const NHS_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
const ODS_SYSTEM = 'https://fhir.nhs.uk/Id/ods-organization-code';
const RECORD_SYSTEM = 'https://care-record-gateway.dev/fhir/Id/provider-record';

/** The sample resident from README.md, mapped, with every personal element a Patient can carry. */
const patient: Patient = {
  resourceType: 'Patient',
  meta: { profile: ['https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient'], source: 'urn:care-record-gateway:VNX12:ExampleCare', tag: [{ system: ODS_SYSTEM, code: 'VNX12' }] },
  identifier: [{ system: NHS_SYSTEM, value: NHS, extension: [{ url: 'https://example.org/verified', valueBoolean: true }] }],
  name: [{ use: 'official', family: 'Example', given: ['Edith'] }],
  telecom: [{ system: 'phone', value: '0113 496 0000' }, { system: 'email', value: 'edith@example.org' }],
  gender: 'female',
  birthDate: '1946-03-14',
  address: [{ use: 'home', line: ['Rose Court Care Home', '1 Garden Lane'], city: 'Leeds', postalCode: 'LS1 4AP' }],
  photo: [{ contentType: 'image/jpeg', data: 'AAAA' }],
  contact: [{ name: { family: 'Example', given: ['Peter'] } }],
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Edith Example</div>' },
  generalPractitioner: [{ type: 'Organization', identifier: { system: ODS_SYSTEM, value: 'B86016' }, display: 'Dr Smith\'s surgery' }],
};

const clean = (resource: Resource) => deidentifier.deidentify(resource, AT) as unknown as Record<string, unknown>;

describe('a Patient, de-identified', () => {
  const out = clean(patient);

  it('replaces the NHS number with the keyed pseudonym, and nothing else of the identifier stays', () => {
    expect(out.identifier).toEqual([{ system: PSEUDONYM_SYSTEM, value: pseudonyms.person(NHS) }]);
    expect(JSON.stringify(out)).not.toContain(NHS);
  });

  it.each(['name', 'telecom', 'photo', 'contact', 'text'])('removes %s', (element) => {
    expect(out[element]).toBeUndefined();
  });

  it('reduces the birth date to its year', () => {
    expect(out.birthDate).toBe('1946');
  });

  it('keeps only the postcode district of an address', () => {
    expect(out.address).toEqual([{ use: 'home', postalCode: 'LS1' }]);
  });

  it('keeps the GP practice as an ODS code, without its display', () => {
    expect(out.generalPractitioner).toEqual([{ type: 'Organization', identifier: { system: ODS_SYSTEM, value: 'B86016' } }]);
  });

  it('keeps the profile and the provider tag, but not meta.source', () => {
    expect(out.meta).toEqual({ profile: patient.meta!.profile, tag: patient.meta!.tag });
  });

  it('removes an element the rules do not name, even one no mapping writes yet', () => {
    const future = clean({ ...patient, maritalStatus: { text: 'widowed' }, futureElement: 'Edith' } as Patient);
    expect(future.maritalStatus).toBeUndefined();
    expect(future.futureElement).toBeUndefined();
  });

  it('gives a person 90 or over an age band instead of a birth year', () => {
    // 90 on the day the record arrived (AT) is banded; 89, the day before their birthday, is not.
    const old = clean({ ...patient, birthDate: '1936-11-20' } as Patient);
    expect(old.birthDate).toBeUndefined();
    expect(old.extension).toEqual([{ url: 'https://care-record-gateway.dev/fhir/StructureDefinition/research-age-band', valueString: '90 or over' }]);
    expect(clean({ ...patient, birthDate: '1921-01-01' } as Patient).birthDate).toBeUndefined();
    const young = clean({ ...patient, birthDate: '1936-11-21' } as Patient);
    expect(young.birthDate).toBe('1936');
    expect(young.extension).toBeUndefined();
  });
});

describe('other elements', () => {
  const observation = {
    resourceType: 'Observation',
    identifier: [{ system: RECORD_SYSTEM, value: 'VNX12/vital-signs/OBS-1/pulse' }],
    status: 'final',
    code: { coding: [{ system: 'http://snomed.info/sct', code: '78564009', display: 'Pulse rate' }], text: 'Pulse taken by Grace' },
    subject: { reference: `Patient?identifier=${NHS_SYSTEM}|${NHS}`, display: 'Edith Example' },
    effectiveDateTime: '2026-11-03T21:40:00Z',
    valueQuantity: { value: 77, unit: 'per minute', system: 'http://unitsofmeasure.org', code: '/min' },
    note: [{ text: 'Edith was anxious' }],
    performer: [{ display: 'Grace Adeyemi' }],
  } as Resource;
  const out = clean(observation);

  it('hashes a provider record id with the secret, under the hashed-id system', () => {
    expect(out.identifier).toEqual([{ system: HASHED_ID_SYSTEM, value: pseudonyms.id(RECORD_SYSTEM, 'VNX12/vital-signs/OBS-1/pulse') }]);
  });

  it('keeps codes as system and code, without display or text', () => {
    expect(out.code).toEqual({ coding: [{ system: 'http://snomed.info/sct', code: '78564009' }] });
  });

  it('turns a reference to the person by NHS number into one by pseudonym, without display', () => {
    expect(out.subject).toEqual({ type: 'Patient', identifier: { system: PSEUDONYM_SYSTEM, value: pseudonyms.person(NHS) } });
  });

  it('cuts an event date-time to its day', () => {
    expect(out.effectiveDateTime).toBe('2026-11-03');
  });

  it('keeps a measured value', () => {
    expect(out.valueQuantity).toEqual({ value: 77, unit: 'per minute', system: 'http://unitsofmeasure.org', code: '/min' });
  });

  it('removes notes and performers', () => {
    expect(out.note).toBeUndefined();
    expect(out.performer).toBeUndefined();
  });

  it('drops a reference that only names something by literal reference or display', () => {
    const flag = clean({ resourceType: 'Flag', status: 'active', code: { text: 'x' }, subject: { reference: 'Patient/123' }, author: { display: 'Dr A Patel' } } as Resource);
    expect(flag).toEqual({ resourceType: 'Flag', status: 'active' });
  });

  it('leaves out a resource type the rules do not list (staff, provenance)', () => {
    expect(deidentifier.deidentify({ resourceType: 'Practitioner', name: [{ family: 'Adeyemi' }] } as Resource, AT)).toBeUndefined();
    expect(deidentifier.deidentify({ resourceType: 'Provenance' } as Resource, AT)).toBeUndefined();
  });

  it('leaves out a restricted resource (a safeguarding flag) altogether', () => {
    const restricted = { resourceType: 'Flag', meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] }, status: 'active' } as Resource;
    expect(deidentifier.deidentify(restricted, AT)).toBeUndefined();
  });
});

describe('re-reading a stored resource under the same rules', () => {
  it('keeps everything de-identification kept, the age band too', () => {
    for (const resource of [patient, { ...patient, birthDate: '1920-01-01' } as Patient]) {
      const stored = deidentifier.deidentify(resource, AT)!;
      expect(deidentifier.prune(JSON.parse(JSON.stringify(stored)) as Resource)).toEqual(stored);
    }
  });
});

describe('postcode districts', () => {
  it.each([
    ['LS1 4AP', 'LS1'],
    ['ls6 2aa', 'LS6'],
    ['SW1A1AA', 'SW1A'],
    ['M1 1AE', 'M1'],
    ['EC1A 1BB', 'EC1A'],
    ['not a postcode', undefined],
    ['LS1', undefined],
  ])('%s -> %s', (postcode, district) => {
    expect(postcodeDistrict(postcode)).toBe(district);
  });
});

describe('the rule file', () => {
  const base = { ageBand: { from: 90, label: '90 or over', extension: 'https://example.org/band' }, resources: {} };

  it('is refused with an action that does not exist', () => {
    expect(() => parseRules({ ...base, resources: { Patient: { name: 'hide' } } })).toThrow('"hide" is not one of');
  });

  it('is refused with a path that is not an element path', () => {
    expect(() => parseRules({ ...base, resources: { Patient: { 'name[0]': 'keep' } } })).toThrow('not an element path');
  });

  it('decides on every resource type a mapping emits: rules for it, or a stated reason to leave it out', async () => {
    const rules = loadRules();
    const registry = loadMappings();
    const emitted = new Set<string>();
    for (const type of registry.types.keys()) {
      const example = JSON.parse(fs.readFileSync(path.join(MAPPINGS_DIR, type, 'example.json'), 'utf8')) as ProviderRecord;
      const result = await mapRecord(registry.types.get(type)!, { ...example, nhsNumber: example.nhsNumber?.replace(/[\s-]/g, '') }, '$');
      if (result.ok) for (const r of result.resources) emitted.add(r.resourceType);
    }
    emitted.add('Provenance'); // added to every submission by src/map/provenance.ts
    expect(emitted.size).toBeGreaterThan(10);
    expect([...emitted].filter((t) => !rules.resources.has(t) && !rules.excluded.has(t))).toEqual([]);
  });

  it('never keeps a name, address line, telecom or free text element as it is', () => {
    const rules = loadRules();
    for (const [type, elements] of rules.resources) {
      for (const [element, action] of elements) {
        if (action === 'keep' && /(^|\.)(name|line|telecom|text|note|description|title|display|photo|contact|address)$/.test(element)) {
          throw new Error(`${type}.${element} is "${action}"`);
        }
      }
    }
  });
});
