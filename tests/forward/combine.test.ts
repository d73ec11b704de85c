import type { Bundle, BundleEntry, Organization, Patient, Provenance } from 'fhir/r4';
import { alone, packSubmissions, splitResponse } from '../../src/forward/combine';
import type { ClaimedSubmission } from '../../src/outbox/outbox';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';

/** A resident's submission as the gateway makes it: the care provider by conditional create, the Patient naming it. */
function resident(id: string, nhsNumber: string, careProvider = 'VNX12'): ClaimedSubmission {
  const orgUrl = `urn:uuid:org-${id}`;
  const entry: BundleEntry[] = [
    {
      fullUrl: `urn:uuid:patient-${id}`,
      resource: { resourceType: 'Patient', identifier: [{ system: NHS, value: nhsNumber }], managingOrganization: { reference: orgUrl } } as Patient,
      request: { method: 'PUT', url: `Patient?identifier=${encodeURIComponent(`${NHS}|${nhsNumber}`)}` },
    },
    {
      fullUrl: orgUrl,
      resource: { resourceType: 'Organization', identifier: [{ system: ODS, value: careProvider }] } as Organization,
      request: { method: 'POST', url: 'Organization', ifNoneExist: `identifier=${encodeURIComponent(`${ODS}|${careProvider}`)}` },
    },
    {
      fullUrl: `urn:uuid:provenance-${id}`,
      resource: { resourceType: 'Provenance', id: `prov-${id}`, target: [{ reference: `urn:uuid:patient-${id}` }], recorded: '2026-12-01T10:00:00Z', agent: [] } as Provenance,
      request: { method: 'PUT', url: `Provenance/prov-${id}` },
    },
  ];
  return { id, attempts: 0, bundle: { resourceType: 'Bundle', type: 'transaction', entry } };
}

/** A care location's submission: it updates the Organization that residents only create when missing. */
function careLocation(id: string, careProvider = 'VNX12'): ClaimedSubmission {
  const entry: BundleEntry[] = [
    {
      fullUrl: `urn:uuid:location-org-${id}`,
      resource: { resourceType: 'Organization', identifier: [{ system: ODS, value: careProvider }], name: 'Rose Court' } as Organization,
      request: { method: 'PUT', url: `Organization?identifier=${encodeURIComponent(`${ODS}|${careProvider}`)}` },
    },
  ];
  return { id, attempts: 0, bundle: { resourceType: 'Bundle', type: 'transaction', entry } };
}

const requestsOf = (bundle: Bundle) => (bundle.entry ?? []).map((e) => `${e.request?.method} ${e.request?.url}`);

describe('packSubmissions', () => {
  it('sends a single submission as it is, in a transaction of its own', () => {
    const only = resident('a', '9434765919');
    const [group] = packSubmissions([only], 50, 500);
    expect(group.bundle).toBe(only.bundle);
    expect(group.parts).toEqual([[0, 1, 2]]);
  });

  it('packs submissions for different patients into one transaction, in claim order', () => {
    const [group, ...rest] = packSubmissions([resident('a', '9434765919', 'A1'), resident('b', '9434765870', 'B1')], 50, 500);
    expect(rest).toEqual([]);
    expect(group.submissions.map((s) => s.id)).toEqual(['a', 'b']);
    expect(group.bundle.type).toBe('transaction');
    expect(requestsOf(group.bundle)).toEqual([
      `PUT Patient?identifier=${encodeURIComponent(`${NHS}|9434765919`)}`,
      'POST Organization',
      'PUT Provenance/prov-a',
      `PUT Patient?identifier=${encodeURIComponent(`${NHS}|9434765870`)}`,
      'POST Organization',
      'PUT Provenance/prov-b',
    ]);
    expect(group.parts).toEqual([[0, 1, 2], [3, 4, 5]]);
  });

  it('keeps an identical conditional create once and points references to it at the kept entry', () => {
    const second = resident('b', '9434765870');
    const [group] = packSubmissions([resident('a', '9434765919'), second], 50, 500);
    expect(requestsOf(group.bundle).filter((r) => r === 'POST Organization')).toHaveLength(1);
    expect(group.parts).toEqual([[0, 1, 2], [3, 1, 4]]);
    const secondPatient = group.bundle.entry?.[3].resource as Patient;
    expect(secondPatient.managingOrganization?.reference).toBe('urn:uuid:org-a');
    // The claimed submission itself is untouched: a fallback sends it exactly as it was accepted.
    expect((second.bundle.entry?.[0].resource as Patient).managingOrganization?.reference).toBe('urn:uuid:org-b');
  });

  it('puts a submission that writes a resource another one already writes into another transaction', () => {
    const groups = packSubmissions([careLocation('x'), careLocation('y')], 50, 500);
    expect(groups.map((g) => g.submissions.map((s) => s.id))).toEqual([['x'], ['y']]);
  });

  it('never combines a conditional create with an update of the same resource', () => {
    const groups = packSubmissions([resident('a', '9434765919'), careLocation('x'), resident('b', '9434765870', 'OTHER')], 50, 500);
    expect(groups.map((g) => g.submissions.map((s) => s.id))).toEqual([['a', 'b'], ['x']]);
  });

  it('never puts two entries with one fullUrl into one transaction', () => {
    const a = resident('a', '9434765919', 'A1');
    const b = resident('b', '9434765870', 'B1');
    b.bundle.entry![2].fullUrl = a.bundle.entry![2].fullUrl;
    expect(packSubmissions([a, b], 50, 500)).toHaveLength(2);
  });

  it('holds at most maxSubmissions submissions and maxEntries entries a transaction; a larger submission goes alone', () => {
    const people = ['9434765919', '9434765870', '9000000009', '9000000017', '9000000025'];
    const claimed = people.map((nhs, i) => resident(`r${i}`, nhs, `ORG${i}`));
    expect(packSubmissions(claimed, 2, 500).map((g) => g.submissions.length)).toEqual([2, 2, 1]);
    expect(packSubmissions(claimed, 50, 7).map((g) => g.submissions.length)).toEqual([2, 2, 1]);
    expect(packSubmissions(claimed, 50, 2).map((g) => g.submissions.length)).toEqual([1, 1, 1, 1, 1]);
  });
});

describe('splitResponse', () => {
  it("cuts each submission's own answer out of the combined transaction-response, a shared entry in both", () => {
    const [group] = packSubmissions([resident('a', '9434765919'), resident('b', '9434765870')], 50, 500);
    const response: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction-response',
      entry: ['201 Created', '201 Created', '201 Created', '200 OK', '201 Created'].map((status, i) => ({ response: { status, location: `X/${i}` } })),
    };
    const [a, b] = splitResponse(response, group.parts);
    expect(a?.entry?.map((e) => e.response?.location)).toEqual(['X/0', 'X/1', 'X/2']);
    expect(b?.entry?.map((e) => e.response?.location)).toEqual(['X/3', 'X/1', 'X/4']);
    expect(b?.type).toBe('transaction-response');
  });

  it('answers a transaction of one submission with the response itself', () => {
    const response: Bundle = { resourceType: 'Bundle', type: 'transaction-response', entry: [] };
    expect(splitResponse(response, alone(resident('a', '9434765919')).parts)).toEqual([response]);
  });
});
