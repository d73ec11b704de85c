/**
 * Counts what actually reached an SCR, straight from its FHIR API (no gateway in between): the Patients by
 * NHS number, and how many times each was written (its version history: a second delivery of the same
 * transaction is a conditional update that adds a version, so history length = deliveries that landed).
 */
import type { Bundle, Patient } from 'fhir/r4';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';

async function getBundle(url: string): Promise<Bundle> {
  const res = await fetch(url, { headers: { accept: 'application/fhir+json' } });
  if (!res.ok) throw new Error(`SCR answered ${res.status} for a census search`);
  return (await res.json()) as Bundle;
}

/** NHS number -> ids of the Patients carrying it, following next links. */
export async function patientsByNhsNumber(baseUrl: string): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  let next: string | undefined = `${baseUrl}/Patient?_count=1000`;
  while (next) {
    const page = await getBundle(next);
    for (const entry of page.entry ?? []) {
      const patient = entry.resource as Patient;
      const nhs = patient.identifier?.find((i) => i.system === NHS)?.value;
      if (!nhs || !patient.id) continue;
      found.set(nhs, [...(found.get(nhs) ?? []), patient.id]);
    }
    next = page.link?.find((l) => l.relation === 'next')?.url;
  }
  return found;
}

/** How many versions of Patient/{id} the SCR holds. */
export async function versionCount(baseUrl: string, id: string): Promise<number> {
  return (await getBundle(`${baseUrl}/Patient/${id}/_history?_count=100`)).entry?.length ?? 0;
}

export interface Census {
  /** Acknowledged NHS numbers with no Patient in the SCR. */
  missing: string[];
  /** Acknowledged NHS numbers with more than one Patient. */
  duplicated: string[];
  /** NHS number -> versions, for the Patients written more than once. */
  rewritten: Map<string, number>;
}

/** What the SCR holds for each acknowledged NHS number. */
export async function census(baseUrl: string, nhsNumbers: string[]): Promise<Census> {
  const patients = await patientsByNhsNumber(baseUrl);
  const result: Census = { missing: [], duplicated: [], rewritten: new Map() };
  for (const nhs of nhsNumbers) {
    const ids = patients.get(nhs) ?? [];
    if (ids.length === 0) result.missing.push(nhs);
    else if (ids.length > 1) result.duplicated.push(nhs);
    else {
      const versions = await versionCount(baseUrl, ids[0]);
      if (versions > 1) result.rewritten.set(nhs, versions);
    }
  }
  return result;
}
