import type { Bundle, Patient } from 'fhir/r4';
import { DeliveryWorker, type DeliveryWorkerOptions } from '../../src/forward/delivery-worker';
import { SqliteOutbox } from '../../src/outbox/sqlite-outbox';
import { submission, tempDir } from '../outbox/submissions';
import { freePort, httpSend, LoopbackScr, memoryLogger, ok, unavailable, unprocessable, waitFor, type ScrScript } from './loopback-scr';

const PATIENT_A = '9434765919';
const PATIENT_B = '9434765870';

let tmp: ReturnType<typeof tempDir>;
let outbox: SqliteOutbox;
let scr: LoopbackScr | undefined;
let worker: DeliveryWorker | undefined;
let logLines: string[];

beforeEach(() => {
  tmp = tempDir();
  outbox = new SqliteOutbox(tmp.file('outbox.sqlite'));
});

afterEach(async () => {
  await worker?.stop();
  await scr?.close();
  await outbox.close();
  tmp.remove();
  worker = undefined;
  scr = undefined;
});

function startWorker(url: string, options: Partial<DeliveryWorkerOptions> = {}): DeliveryWorker {
  const { logger, lines } = memoryLogger();
  logLines = lines;
  worker = new DeliveryWorker({
    outbox,
    send: httpSend(url),
    logger,
    maxAttempts: 5,
    backoffBaseMs: 2,
    backoffMaxMs: 20,
    pollIntervalMs: 5,
    breaker: { failureThreshold: 5, coolDownMs: 50 },
    ...options,
  });
  worker.start();
  return worker;
}

async function startScr(script: ScrScript): Promise<LoopbackScr> {
  scr = await LoopbackScr.start(script);
  return scr;
}

const settled = (id: string) => async (): Promise<boolean> =>
  ['delivered', 'rejected', 'failed'].includes((await outbox.get(id))?.state ?? '');

describe('DeliveryWorker against a loopback SCR', () => {
  it('delivers after two 503 answers, on the third attempt', async () => {
    const server = await startScr(({ n }) => (n <= 2 ? unavailable() : ok()));
    startWorker(server.url);
    const [id] = await outbox.enqueue([submission(PATIENT_A)]);
    await waitFor(settled(id));
    expect(await outbox.get(id)).toMatchObject({ state: 'delivered', attempts: 3 });
    expect(server.requests).toHaveLength(3);
  });

  it('tries an outcome write again when the database is busy, so the submission does not stay delivering', async () => {
    const server = await startScr(() => ok());
    // The outbox refuses the first two writes of an outcome as SQLite does when another connection holds the
    // write lock past the busy timeout; everything else is the real outbox.
    let refusals = 2;
    const busy: typeof outbox = Object.create(outbox, {
      markAllDelivered: {
        value: (...args: Parameters<SqliteOutbox['markAllDelivered']>) => {
          if (refusals-- > 0) return Promise.reject(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }));
          return outbox.markAllDelivered(...args);
        },
      },
    });
    startWorker(server.url, { outbox: busy });
    const [id] = await outbox.enqueue([submission(PATIENT_A)]);
    await waitFor(settled(id));
    expect(await outbox.get(id)).toMatchObject({ state: 'delivered', attempts: 1 });
    expect(server.requests).toHaveLength(1);
    expect(logLines.filter((l) => l.includes('storing a delivery outcome failed; trying again'))).toHaveLength(2);
  });

  it("dead-letters a 422 at once with the SCR's outcome, without holding back another patient", async () => {
    const server = await startScr(({ nhsNumber }) => (nhsNumber === PATIENT_A ? unprocessable('birth date is in the future') : ok()));
    startWorker(server.url, { concurrency: 1 });
    const [poison, other] = await outbox.enqueue([submission(PATIENT_A), submission(PATIENT_B)]);
    await waitFor(async () => (await settled(poison)()) && (await settled(other)()));
    const dead = await outbox.get(poison);
    expect(dead).toMatchObject({ state: 'rejected', attempts: 1 });
    expect(dead?.lastError?.issue[0]).toMatchObject({ diagnostics: 'birth date is in the future', expression: ['Patient.birthDate'] });
    expect((await outbox.get(other))?.state).toBe('delivered');
  });

  it('keeps one patient\'s submissions in order when the first has to be retried', async () => {
    const server = await startScr(({ n }) => (n === 1 ? unavailable() : ok()));
    startWorker(server.url, { concurrency: 4 });
    const first = submission(PATIENT_A, 'resident:R-1@1');
    const [id1, id2] = await outbox.enqueue([
      { ...first, bundle: withFamily(first.bundle, 'First') },
      { ...submission(PATIENT_A, 'resident:R-1@2'), bundle: withFamily(first.bundle, 'Second') },
    ]);
    await waitFor(async () => (await settled(id1)()) && (await settled(id2)()));
    expect(server.requests.map((r) => r.family)).toEqual(['First', 'First', 'Second']);
  });

  it('delivers once an SCR that was down comes up', async () => {
    const port = await freePort();
    startWorker(`http://127.0.0.1:${port}`);
    const [id] = await outbox.enqueue([submission(PATIENT_A)]);
    await waitFor(async () => ((await outbox.get(id))?.attempts ?? 0) >= 2);
    expect((await outbox.get(id))?.lastError?.issue[0].code).toBe('transient');
    scr = await LoopbackScr.start(() => ok(), port);
    await waitFor(settled(id));
    expect((await outbox.get(id))?.state).toBe('delivered');
  });

  it('waits as long as Retry-After asks before trying again', async () => {
    const server = await startScr(({ n }) => (n === 1 ? { ...unavailable({ 'retry-after': '1' }), status: 429 } : ok()));
    startWorker(server.url, { backoffMaxMs: 5000 });
    const [id] = await outbox.enqueue([submission(PATIENT_A)]);
    await waitFor(settled(id));
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1].at - server.requests[0].at).toBeGreaterThanOrEqual(990);
  });

  it('marks a submission failed when every allowed attempt fails', async () => {
    const server = await startScr(() => unavailable());
    startWorker(server.url, { maxAttempts: 3 });
    const [id] = await outbox.enqueue([submission(PATIENT_A)]);
    await waitFor(settled(id));
    const dead = await outbox.get(id);
    expect(dead).toMatchObject({ state: 'failed', attempts: 3 });
    expect(dead?.lastError?.issue.map((i) => i.diagnostics)).toEqual(['Service unavailable', 'Gave up after 3 attempts']);
    expect(server.requests).toHaveLength(3);
  });

  it('delivers a replayed dead letter once the SCR accepts it', async () => {
    let fixed = false;
    const server = await startScr(() => (fixed ? ok() : unprocessable('unknown GP practice')));
    const running = startWorker(server.url);
    const [id] = await outbox.enqueue([submission(PATIENT_A)]);
    await waitFor(settled(id));
    expect((await outbox.get(id))?.state).toBe('rejected');
    fixed = true;
    expect(await outbox.replay(id)).toBe(true);
    running.notify();
    await waitFor(settled(id));
    expect(await outbox.get(id)).toMatchObject({ state: 'delivered', attempts: 1 });
    expect(server.requests).toHaveLength(2);
  });

  it('claims nothing while paused and carries on after resume', async () => {
    const server = await startScr(() => ok());
    const running = startWorker(server.url);
    await running.pause();
    expect(running.paused).toBe(true);
    expect(await outbox.isPaused()).toBe(true);
    const [id] = await outbox.enqueue([submission(PATIENT_A)]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.requests).toHaveLength(0);
    expect((await outbox.get(id))?.state).toBe('queued');
    await running.resume();
    await waitFor(settled(id));
    expect((await outbox.get(id))?.state).toBe('delivered');
  });

  it('follows a pause stored in the outbox by another worker, and its resume', async () => {
    const server = await startScr(() => ok());
    startWorker(server.url);
    const other = new SqliteOutbox(tmp.file('outbox.sqlite'));
    try {
      await other.setPaused(true);
      await waitFor(() => worker?.paused === true);
      const [id] = await outbox.enqueue([submission(PATIENT_A)]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(server.requests).toHaveLength(0);
      await other.setPaused(false);
      await waitFor(settled(id));
      expect(logLines.join('')).toContain('delivery paused in the outbox');
    } finally {
      await other.close();
    }
  });

  it('waits for a send in flight to finish when stopped', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const server = await startScr(async () => {
      await held;
      return ok();
    });
    const running = startWorker(server.url);
    const [id] = await outbox.enqueue([submission(PATIENT_A)]);
    await waitFor(() => server.requests.length === 1);
    let stopped = false;
    const stopping = running.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect((await outbox.get(id))?.state).toBe('delivered');
  });

  it('stops sending while the circuit breaker is open and probes once after the cool-down', async () => {
    let up = false;
    const server = await startScr(() => (up ? ok() : unavailable()));
    startWorker(server.url, { concurrency: 1, breaker: { failureThreshold: 2, coolDownMs: 1000 }, maxAttempts: 10 });
    const ids = await outbox.enqueue([submission(PATIENT_A), submission(PATIENT_B), submission('9000000009')]);
    await waitFor(() => server.requests.length === 2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.requests).toHaveLength(2); // open: nothing sent during the cool-down
    expect(worker?.circuit).toBe('open');
    up = true;
    for (const id of ids) await waitFor(settled(id));
    expect(server.requests[2].at - server.requests[1].at).toBeGreaterThanOrEqual(990);
    expect(worker?.circuit).toBe('closed');
  });

  it('never writes an NHS number to its logs', async () => {
    const server = await startScr(({ n }) => (n === 1 ? unprocessable(`NHS number ${PATIENT_A} not known`) : ok()));
    startWorker(server.url);
    const [id] = await outbox.enqueue([submission(PATIENT_A)]);
    await waitFor(settled(id));
    expect(logLines.join('')).toContain('dead-lettered');
    expect(logLines.join('')).not.toContain(PATIENT_A);
  });
});

describe('DeliveryWorker sending several patients in one transaction', () => {
  const PEOPLE = ['9434765919', '9434765870', '9000000009', '9000000017', '9000000025', '9000000033'];
  /** The NHS numbers of every Patient in a transaction, in entry order. */
  const peopleIn = (bundle: Bundle): string[] =>
    (bundle.entry ?? []).map((e) => (e.resource as Patient).identifier?.[0]?.value ?? '');
  /** A transaction-response with one answer per entry, as a FHIR server gives. */
  const answerEach = (bundle: Bundle) => ({
    status: 200,
    body: { resourceType: 'Bundle', type: 'transaction-response', entry: (bundle.entry ?? []).map(() => ({ response: { status: '200 OK' } })) },
  });

  it('delivers submissions for several patients in one transaction, each marked delivered', async () => {
    const server = await startScr(({ bundle }) => answerEach(bundle));
    const ids = await outbox.enqueue(PEOPLE.map((nhs) => submission(nhs)));
    startWorker(server.url, { concurrency: 1, batchSize: 4 });
    for (const id of ids) await waitFor(settled(id));
    expect(server.requests.map((r) => peopleIn(r.bundle))).toEqual([PEOPLE.slice(0, 4), PEOPLE.slice(4)]);
    for (const id of ids) expect(await outbox.get(id)).toMatchObject({ state: 'delivered', attempts: 1 });
    expect(logLines.filter((l) => l.includes('"message":"submission delivered"'))).toHaveLength(2);
  });

  it('sends each submission alone when the SCR refuses the combined transaction, so only the one at fault is a dead letter', async () => {
    const [poison] = PEOPLE;
    const server = await startScr(({ bundle }) => (peopleIn(bundle).includes(poison) ? unprocessable('birth date is in the future') : answerEach(bundle)));
    const ids = await outbox.enqueue(PEOPLE.slice(0, 3).map((nhs) => submission(nhs)));
    startWorker(server.url, { concurrency: 1, batchSize: 10 });
    for (const id of ids) await waitFor(settled(id));
    expect(server.requests.map((r) => peopleIn(r.bundle))).toEqual([PEOPLE.slice(0, 3), [PEOPLE[0]], [PEOPLE[1]], [PEOPLE[2]]]);
    expect(await outbox.get(ids[0])).toMatchObject({ state: 'rejected', attempts: 1 });
    for (const id of ids.slice(1)) expect(await outbox.get(id)).toMatchObject({ state: 'delivered', attempts: 1 });
    expect(logLines.join('')).toContain('combined transaction refused');
  });

  it('puts every submission of a combined transaction that failed back in the queue, each with its attempt counted', async () => {
    const server = await startScr(({ n, bundle }) => (n === 1 ? unavailable() : answerEach(bundle)));
    const ids = await outbox.enqueue(PEOPLE.slice(0, 3).map((nhs) => submission(nhs)));
    startWorker(server.url, { concurrency: 1, batchSize: 10 });
    for (const id of ids) await waitFor(settled(id));
    for (const id of ids) expect(await outbox.get(id)).toMatchObject({ state: 'delivered', attempts: 2 });
    // Each was sent once more, when its own back-off ran out (together or not, as their jitter fell).
    const [failed, ...again] = server.requests.map((r) => peopleIn(r.bundle));
    expect(failed).toEqual(PEOPLE.slice(0, 3));
    expect(again.flat().sort()).toEqual(PEOPLE.slice(0, 3).sort());
  });

  it('sends the first record after a quiet spell at once, and lets records arriving one by one gather while it coalesces', async () => {
    const server = await startScr(({ bundle }) => answerEach(bundle));
    const w = startWorker(server.url, { concurrency: 4, batchSize: 10, coalesceMs: 300 });
    const enqueue = async (nhs: string): Promise<string> => {
      const [id] = await outbox.enqueue([submission(nhs)]);
      w.notify();
      return id;
    };
    const first = await enqueue(PEOPLE[0]);
    await waitFor(settled(first));
    // Inside the 300 ms after that claim: three arrive apart, and travel together.
    const later: string[] = [];
    for (const nhs of PEOPLE.slice(1, 4)) {
      later.push(await enqueue(nhs));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const id of later) await waitFor(settled(id));
    expect(server.requests.map((r) => peopleIn(r.bundle))).toEqual([[PEOPLE[0]], PEOPLE.slice(1, 4)]);
  });

  it("does not hold one person's waiting submissions back while it coalesces: each goes as soon as the one before is delivered", async () => {
    const server = await startScr(({ bundle }) => answerEach(bundle));
    const ids = await outbox.enqueue(['r@1', 'r@2', 'r@3', 'r@4'].map((record) => submission(PEOPLE[0], record)));
    const started = Date.now();
    startWorker(server.url, { concurrency: 4, batchSize: 10, coalesceMs: 2000 });
    for (const id of ids) await waitFor(settled(id));
    // One at a time, in order; waiting out the window after each claim would have taken over 6 s.
    expect(server.requests).toHaveLength(4);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('without coalescing, claims each record as it is notified', async () => {
    const server = await startScr(({ bundle }) => answerEach(bundle));
    const w = startWorker(server.url, { concurrency: 4, batchSize: 10, coalesceMs: 0 });
    for (const nhs of PEOPLE.slice(0, 3)) {
      const [id] = await outbox.enqueue([submission(nhs)]);
      w.notify();
      await waitFor(settled(id));
    }
    expect(server.requests.map((r) => peopleIn(r.bundle))).toEqual(PEOPLE.slice(0, 3).map((nhs) => [nhs]));
  });

  it("never puts one patient's next submission in a transaction before the one ahead of it is delivered", async () => {
    const server = await startScr(({ bundle }) => answerEach(bundle));
    const first = submission(PEOPLE[0], 'resident:R-1@1');
    const ids = await outbox.enqueue([
      { ...first, bundle: withFamily(first.bundle, 'First') },
      { ...submission(PEOPLE[0], 'resident:R-1@2'), bundle: withFamily(first.bundle, 'Second') },
      submission(PEOPLE[1]),
    ]);
    startWorker(server.url, { concurrency: 4, batchSize: 10 });
    for (const id of ids) await waitFor(settled(id));
    const families = server.requests.map((r) => (r.bundle.entry ?? []).map((e) => (e.resource as Patient).name?.[0]?.family));
    expect(families).toEqual([['First', 'Smith'], ['Second']]);
  });

  describe('claims bounded by the bytes of their bundles', () => {
    /** An SCR that holds each transaction a little, noting the most bundle JSON it held at once, and how many. */
    async function holdingScr(): Promise<{ server: LoopbackScr; most: { bytes: number; sends: number } }> {
      const most = { bytes: 0, sends: 0 };
      const open = { bytes: 0, sends: 0 };
      const server = await startScr(async ({ bundle }) => {
        const bytes = JSON.stringify(bundle).length;
        open.bytes += bytes;
        open.sends++;
        most.bytes = Math.max(most.bytes, open.bytes);
        most.sends = Math.max(most.sends, open.sends);
        await new Promise((r) => setTimeout(r, 20));
        open.bytes -= bytes;
        open.sends--;
        return answerEach(bundle);
      });
      return { server, most };
    }
    const many = (n: number, padding = ''): ReturnType<typeof submission>[] =>
      Array.from({ length: n }, (_, i) => submission(`90000${String(i).padStart(5, '0')}`, 'resident:R-1@1', padding));

    it('never has more than claimBytes of bundles out at once, from its very first claim', async () => {
      const { server, most } = await holdingScr();
      const ids = await outbox.enqueue(many(30, 'x'.repeat(200_000)));
      // 1 MB: five of these ~200 KB bundles, where its slots could take 20.
      startWorker(server.url, { concurrency: 2, batchSize: 10, claimBytes: 1024 * 1024 });
      for (const id of ids) await waitFor(settled(id));
      expect(most.bytes).toBeGreaterThan(800 * 1024);
      expect(most.bytes).toBeLessThanOrEqual(1024 * 1024);
      expect(server.requests.map((r) => r.bundle.entry?.length)).toEqual([5, 5, 5, 5, 5, 5]);
    });

    it('sends a bundle larger than claimBytes alone rather than never', async () => {
      const { server, most } = await holdingScr();
      const ids = await outbox.enqueue(many(3, 'x'.repeat(200_000)));
      startWorker(server.url, { concurrency: 2, batchSize: 10, claimBytes: 64 * 1024 });
      for (const id of ids) await waitFor(settled(id));
      for (const id of ids) expect((await outbox.get(id))?.state).toBe('delivered');
      expect(server.requests.map((r) => r.bundle.entry?.length)).toEqual([1, 1, 1]);
      expect(most.sends).toBe(1);
    });

    it('claims full batches of small bundles, a batch a slot', async () => {
      const { server, most } = await holdingScr();
      const ids = await outbox.enqueue(many(40));
      startWorker(server.url, { concurrency: 2, batchSize: 10, claimBytes: 1024 * 1024 });
      for (const id of ids) await waitFor(settled(id));
      expect(server.requests.map((r) => r.bundle.entry?.length)).toEqual([10, 10, 10, 10]);
      expect(most.sends).toBe(2);
    });
  });
});

function withFamily(bundle: Bundle, family: string): Bundle {
  const copy = JSON.parse(JSON.stringify(bundle)) as Bundle;
  const patient = copy.entry?.[0]?.resource as Patient;
  patient.name = [{ family }];
  return copy;
}
