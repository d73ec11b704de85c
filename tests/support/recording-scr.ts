/**
 * The development SCR behind a loopback proxy that records each transaction it passes on: which patients it
 * was for (a combined transaction carries several), which record version it carried for each (its
 * Provenance), and how many transactions for one patient were in flight at the same moment. So a test can count deliveries and prove per-patient order and exclusion
 * across gateway replicas from the SCR's side, where it matters.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Bundle, Patient, Provenance } from 'fhir/r4';
import { startDevScr } from '../../src/devscr';
import { forward } from './forward';

export interface Delivery {
  nhsNumber: string;
  provenanceId: string;
  /** The Patient's first address line, which the tests use to tell record versions apart. */
  marker: string;
  status: number;
}

export interface RecordingScr {
  baseUrl: string;
  /** Each patient's submission the SCR answered, in the order they arrived. */
  deliveries: Delivery[];
  /** The most transactions for one patient that were ever in flight at once (must stay 1). */
  maxInFlightPerPatient: number;
  /** The most transactions in flight at once overall (shows the replicas did deliver in parallel). */
  maxInFlight: number;
  /** Extra time each transaction is held before it is passed on, to widen any window for overlap. */
  holdMs: number;
  reset(): void;
  close(): Promise<void>;
}

const NHS_NUMBER = 'https://fhir.nhs.uk/Id/nhs-number';

export async function startRecordingScr(): Promise<RecordingScr> {
  const scr = await startDevScr({ port: 0 });
  const upstream = new URL(scr.baseUrl).origin;
  const inFlight = new Map<string, number>();
  let total = 0;
  const state: RecordingScr = {
    baseUrl: '',
    deliveries: [],
    maxInFlightPerPatient: 0,
    maxInFlight: 0,
    holdMs: 0,
    reset() {
      state.deliveries = [];
      state.maxInFlightPerPatient = 0;
      state.maxInFlight = 0;
    },
    close: async () => undefined,
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      const isTransaction = req.method === 'POST' && /^\/fhir\/?$/.test(req.url ?? '');
      const bundle = isTransaction && body ? (JSON.parse(body.toString('utf8')) as Bundle) : undefined;
      // A transaction may carry several patients' submissions: each Patient with the Provenance naming it.
      const carried = (bundle?.entry ?? []).flatMap((entry) => {
        const patient = entry.resource?.resourceType === 'Patient' ? (entry.resource as Patient) : undefined;
        const nhsNumber = patient?.identifier?.find((i) => i.system === NHS_NUMBER)?.value;
        if (!patient || !nhsNumber) return [];
        const provenance = bundle?.entry?.find(
          (e) => e.resource?.resourceType === 'Provenance' && (e.resource as Provenance).target.some((t) => t.reference === entry.fullUrl),
        );
        return [{ nhsNumber, provenanceId: provenance?.resource?.id ?? '', marker: patient.address?.[0]?.line?.[0] ?? '' }];
      });
      for (const { nhsNumber } of carried) {
        const now = (inFlight.get(nhsNumber) ?? 0) + 1;
        inFlight.set(nhsNumber, now);
        state.maxInFlightPerPatient = Math.max(state.maxInFlightPerPatient, now);
      }
      if (carried.length > 0) state.maxInFlight = Math.max(state.maxInFlight, ++total);
      const finish = (status: number) => {
        if (carried.length === 0) return;
        total--;
        for (const delivery of carried) {
          inFlight.set(delivery.nhsNumber, (inFlight.get(delivery.nhsNumber) ?? 1) - 1);
          state.deliveries.push({ ...delivery, status });
        }
      };
      const hold = carried.length > 0 && state.holdMs > 0 ? new Promise((r) => setTimeout(r, Math.random() * state.holdMs)) : Promise.resolve();
      void hold.then(() => forward(upstream, req, body, res, { onStatus: finish }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  state.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await scr.close();
  };
  return state;
}
