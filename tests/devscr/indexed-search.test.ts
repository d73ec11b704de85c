import { parseSearchRequest } from '@medplum/core';
import type { Observation, Patient } from '@medplum/fhirtypes';
import { AtomicMemoryRepository } from '../../src/devscr/atomic-repository';
import { loadR4Definitions } from '../../src/devscr/definitions';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';

beforeAll(() => loadR4Definitions());

async function ids(repo: AtomicMemoryRepository, query: string): Promise<string[]> {
  const bundle = await repo.search(parseSearchRequest(query));
  return (bundle.entry ?? []).map((e) => e.resource!.id!).sort();
}

describe('the development SCR indexes its searches', () => {
  it('finds by identifier, by reference and by _id exactly what a full scan finds', async () => {
    const repo = new AtomicMemoryRepository();
    const patients: Patient[] = [];
    for (let i = 0; i < 20; i++) {
      patients.push(await repo.createResource<Patient>({ resourceType: 'Patient', identifier: [{ system: NHS, value: `90000000${String(i).padStart(2, '0')}` }] }));
    }
    for (const p of patients) {
      await repo.createResource<Observation>({ resourceType: 'Observation', status: 'final', code: { text: 'pulse' }, subject: { reference: `Patient/${p.id}` } });
    }
    expect(await ids(repo, `Patient?identifier=${NHS}|9000000007`)).toEqual([patients[7].id]);
    expect(await ids(repo, `Observation?patient=Patient/${patients[3].id}`)).toHaveLength(1);
    expect(await ids(repo, `Patient?_id=${patients[5].id}`)).toEqual([patients[5].id]);
    // A search the index cannot narrow still works (full scan).
    expect(await ids(repo, 'Observation?status=final')).toHaveLength(20);
  });

  it('moves a resource in the index when an update changes its identifier', async () => {
    const repo = new AtomicMemoryRepository();
    const p = await repo.createResource<Patient>({ resourceType: 'Patient', identifier: [{ system: NHS, value: '9434765919' }] });
    await repo.updateResource<Patient>({ ...p, identifier: [{ system: NHS, value: '9000000009' }] });
    expect(await ids(repo, `Patient?identifier=${NHS}|9434765919`)).toEqual([]);
    expect(await ids(repo, `Patient?identifier=${NHS}|9000000009`)).toEqual([p.id]);
  });

  it('finds every resource that shares an identifier, and only those left after one of them changes it', async () => {
    const repo = new AtomicMemoryRepository();
    const shared = { resourceType: 'Patient' as const, identifier: [{ system: NHS, value: '9434765919' }] };
    const [a, b, c] = [await repo.createResource<Patient>(shared), await repo.createResource<Patient>(shared), await repo.createResource<Patient>(shared)];
    expect(await ids(repo, `Patient?identifier=${NHS}|9434765919`)).toEqual([a.id, b.id, c.id].sort());

    await repo.updateResource<Patient>({ ...a, identifier: [{ system: NHS, value: '9000000009' }] });
    await repo.updateResource<Patient>({ ...b, identifier: [{ system: NHS, value: '9000000009' }] });

    expect(await ids(repo, `Patient?identifier=${NHS}|9434765919`)).toEqual([c.id]);
    expect(await ids(repo, `Patient?identifier=${NHS}|9000000009`)).toEqual([a.id, b.id].sort());
  });

  it('undoes a failed transaction in the store and in the index', async () => {
    const repo = new AtomicMemoryRepository();
    const kept = await repo.createResource<Patient>({ resourceType: 'Patient', identifier: [{ system: NHS, value: '9434765919' }] });
    await expect(
      repo.withTransaction(async () => {
        await repo.updateResource<Patient>({ ...kept, gender: 'female', identifier: [{ system: NHS, value: '9000000009' }] });
        await repo.createResource<Patient>({ resourceType: 'Patient', identifier: [{ system: NHS, value: '9434765870' }] });
        throw new Error('entry 3 failed');
      }),
    ).rejects.toThrow('entry 3 failed');
    expect(await ids(repo, `Patient?identifier=${NHS}|9434765919`)).toEqual([kept.id]);
    expect(await ids(repo, `Patient?identifier=${NHS}|9434765870`)).toEqual([]);
    expect((await repo.readResource<Patient>('Patient', kept.id!)).gender).toBeUndefined();
    expect((await repo.readHistory('Patient', kept.id!)).entry).toHaveLength(1);
  });
});

describe('the development SCR resolves conditional references in transactions, as FHIR R4 requires', () => {
  it('replaces a reference by NHS number with the stored Patient, and fails the transaction when nobody matches', async () => {
    const { startDevScr } = await import('../../src/devscr');
    const { ScrClient } = await import('../../src/fhir/scr-client');
    const scr = await startDevScr({ port: 0 });
    try {
      const client = new ScrClient({ baseUrl: scr.baseUrl, timeoutMs: 5000 });
      const put = (resource: object, url: string) => ({ resourceType: 'Bundle' as const, type: 'transaction' as const, entry: [{ resource: resource as never, request: { method: 'PUT' as const, url } }] });
      const created = await client.transaction(put({ resourceType: 'Patient', identifier: [{ system: NHS, value: '9434765919' }] }, `Patient?identifier=${NHS}|9434765919`));
      const patientId = created.entry?.[0].response?.location?.split('/')[1];
      const observation = (value: string) => ({ resourceType: 'Observation', status: 'final', code: { text: 'pulse' }, identifier: [{ system: 'urn:test', value }], subject: { reference: `Patient?identifier=${NHS}|${value}` } });
      await client.transaction(put(observation('9434765919'), 'Observation?identifier=urn:test|9434765919'));
      const found = await client.search('Observation', { patient: `Patient/${patientId}` });
      expect(found.entry).toHaveLength(1);
      await expect(client.transaction(put(observation('9000000009'), 'Observation?identifier=urn:test|9000000009'))).rejects.toMatchObject({ status: 412, retryable: false });
    } finally {
      await scr.close();
    }
  });
});
