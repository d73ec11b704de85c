/**
 * Delivery in its own worker thread (DELIVERY_THREAD=on), over real HTTP: a real gateway on loopback, its delivery
 * thread sending to a scripted SCR on loopback (the SCR is outside the system). What crosses between the
 * threads is checked from outside: deliveries, notify, pause and resume, metrics at /metrics, log lines,
 * a graceful stop, and a thread that dies being replaced.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import request from 'supertest';
import resident from '../fixtures/records/resident.json';
import { ConfigError, loadConfig } from '../../src/config';
import { startGateway } from '../../src/main';
import { createLogger } from '../../src/observability/logger';
import { SqliteOutbox } from '../../src/outbox/sqlite-outbox';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway';
import { submission } from '../outbox/submissions';
import { nhsNumbers } from '../support/processes';
import { LoopbackScr, unavailable, type ScrReply, type ScrRequest } from './loopback-scr';

/** A transaction-response with one entry per entry sent, as an SCR answers. */
const answer = ({ bundle }: ScrRequest): ScrReply => ({
  status: 200,
  body: { resourceType: 'Bundle', type: 'transaction-response', entry: (bundle.entry ?? []).map(() => ({ response: { status: '200 OK' } })) },
});

const PEOPLE = nhsNumbers(50, 997_600_000);
let nextPerson = 0;

function residentRecord(): Record<string, unknown> {
  const i = nextPerson++;
  return { ...JSON.parse(JSON.stringify(resident)), recordId: `THREAD-${i}`, nhsNumber: PEOPLE[i] };
}

async function post(gw: TestGateway): Promise<string> {
  const res = await request(gw.url).post('/v1/records').set('Authorization', gw.as.provider).send(residentRecord());
  expect(res.status).toBe(202);
  return res.body.accepted[0].submissionId as string;
}

async function state(gw: TestGateway, id: string): Promise<string> {
  const res = await request(gw.url).get(`/v1/submissions/${id}`).set('Authorization', gw.as.provider);
  return res.body.state as string;
}

const delivered = (gw: TestGateway, id: string) => eventually(async () => ((await state(gw, id)) === 'delivered' ? true : undefined));

async function metrics(gw: TestGateway): Promise<string> {
  return (await request(gw.url).get('/metrics')).text;
}

/** A counter's value at /metrics (0 when it has no sample yet). */
function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

/** Residents sent to the SCR, counting each Patient in a combined transaction. */
const recordsSent = (scr: LoopbackScr): number =>
  scr.requests.flatMap((r) => r.bundle.entry ?? []).filter((e) => e.resource?.resourceType === 'Patient').length;

describe('the delivery thread', () => {
  let scr: LoopbackScr;
  let gw: TestGateway;
  let reply: (request: ScrRequest) => ScrReply | Promise<ScrReply> = answer;

  beforeAll(async () => {
    scr = await LoopbackScr.start((r) => reply(r));
    // A poll long past every wait below: only notify can start a delivery promptly.
    gw = await startTestGateway({ DELIVERY_THREAD: 'on', SCR_BASE_URL: scr.url, DELIVERY_POLL_MS: '60000', DELIVERY_BREAKER_THRESHOLD: '1', DELIVERY_BREAKER_COOLDOWN_MS: '60000' });
  });
  afterAll(async () => {
    await gw?.stop();
    await scr.close();
  });

  it('delivers a record as soon as it is queued, woken by notify rather than the poll', async () => {
    const id = await post(gw);
    await delivered(gw, id);
    expect(recordsSent(scr)).toBe(1);
  });

  it("puts the thread's observations on the main registry served at /metrics", async () => {
    const before = await metrics(gw);
    const id = await post(gw);
    await delivered(gw, id);
    const after = await metrics(gw);
    expect(sample(after, 'gateway_delivery_attempts_total{outcome="delivered"}')).toBeGreaterThan(sample(before, 'gateway_delivery_attempts_total{outcome="delivered"}'));
    expect(sample(after, 'gateway_delivery_duration_seconds_count{outcome="delivered"}')).toBeGreaterThan(0);
  });

  it("logs the thread's lines through the gateway's logger, redacted", async () => {
    const id = await post(gw);
    await delivered(gw, id);
    const line = gw.logLines.map((l) => JSON.parse(l) as { message: string; submissionIds?: string[] }).find((l) => l.submissionIds?.includes(id));
    expect(line?.message).toBe('submission delivered');
    // startTestGateway's stop checks every line, the thread's among them, for personal data.
  });

  it('holds deliveries while paused by an operator, and sends them on resume', async () => {
    const paused = await request(gw.url).post('/v1/admin/delivery/pause').set('Authorization', gw.as.operator);
    expect(paused.status).toBe(200);
    expect(sample(await metrics(gw), 'gateway_delivery_paused')).toBe(1);
    const sentBefore = recordsSent(scr);
    const id = await post(gw);
    const status = await request(gw.url).get('/v1/admin/delivery').set('Authorization', gw.as.operator);
    expect(status.body.paused).toBe(true);
    // The notify reached the thread; paused, it claimed nothing.
    await new Promise((r) => setTimeout(r, 300));
    expect(await state(gw, id)).toBe('queued');
    expect(recordsSent(scr)).toBe(sentBefore);

    await request(gw.url).post('/v1/admin/delivery/resume').set('Authorization', gw.as.operator).expect(200);
    await delivered(gw, id);
    expect(sample(await metrics(gw), 'gateway_delivery_paused')).toBe(0);
  });

  it("shows the thread's circuit breaker opening to the admin API and /metrics", async () => {
    reply = () => unavailable();
    const retriesBefore = sample(await metrics(gw), 'gateway_delivery_retries_total');
    const id = await post(gw);
    await eventually(async () => {
      const res = await request(gw.url).get('/v1/admin/delivery').set('Authorization', gw.as.operator);
      return res.body.circuit === 'open' ? true : undefined;
    });
    // The thread reports the breaker as it opens, and the retry once its outcome is stored, a moment later.
    const text = await eventually(async () => {
      const now = await metrics(gw);
      return sample(now, 'gateway_delivery_retries_total') > retriesBefore ? now : undefined;
    }, 5000);
    expect(sample(text, 'gateway_delivery_circuit_opened_total')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'gateway_delivery_retries_total')).toBeGreaterThan(retriesBefore);
    expect(await state(gw, id)).toBe('queued');
    reply = answer;
  });
});

describe('stopping the gateway with a send in flight', () => {
  it('waits for the send to finish and its outcome to be stored before it resolves', async () => {
    const events: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let arrived!: () => void;
    const arrival = new Promise<void>((resolve) => (arrived = resolve));
    const scr = await LoopbackScr.start(async (r) => {
      if (r.bundle.entry?.some((e) => e.resource?.resourceType === 'Patient')) {
        arrived();
        await held;
        events.push('answered');
      }
      return answer(r);
    });
    const outboxFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'crg-thread-')), 'outbox.sqlite');
    const gw = await startTestGateway({ DELIVERY_THREAD: 'on', SCR_BASE_URL: scr.url, OUTBOX_PATH: outboxFile });
    try {
      const id = await post(gw);
      await arrival;
      const stopped = gw.stop().then(() => events.push('stopped'));
      await new Promise((r) => setTimeout(r, 200));
      release();
      await stopped;
      expect(events).toEqual(['answered', 'stopped']);
      const outbox = new SqliteOutbox(outboxFile);
      expect((await outbox.get(id))?.state).toBe('delivered');
      await outbox.close();
    } finally {
      release();
      await scr.close();
      fs.rmSync(path.dirname(outboxFile), { recursive: true, force: true });
    }
  });
});

describe('a delivery thread that dies', () => {
  it('is logged, shown by /ready while down, and replaced; the next thread sends its submission again and keeps a pause', async () => {
    // The first answer is far beyond the thread's heap bound: the thread runs out of memory reading it.
    const huge = { resourceType: 'Bundle', type: 'transaction-response', entry: Array.from({ length: 400_000 }, () => ({ response: { status: '200 OK' } })) };
    let first = true;
    const scr = await LoopbackScr.start((r) => {
      if (first && r.bundle.entry?.some((e) => e.resource?.resourceType === 'Patient')) {
        first = false;
        return { status: 200, body: huge };
      }
      return answer(r);
    });
    const gw = await startTestGateway({ DELIVERY_THREAD: 'on', SCR_BASE_URL: scr.url, DELIVERY_THREAD_HEAP_MB: '16' });
    const lines = () => gw.logLines.map((l) => JSON.parse(l) as { level: string; message: string });
    try {
      const readiness: boolean[] = [];
      const watch = setInterval(() => {
        request(gw.url).get('/ready').then((res) => readiness.push(res.body.checks.delivery as boolean), () => undefined);
      }, 25);
      const lost = await post(gw);
      const died = await eventually(async () => lines().find((l) => l.message.startsWith('delivery thread died')));
      expect(died.level).toBe('error');

      // Paused while no thread runs, or just as the next starts: either way the next thread holds.
      await request(gw.url).post('/v1/admin/delivery/pause').set('Authorization', gw.as.operator).expect(200);
      await eventually(async () => (lines().filter((l) => l.message === 'delivery thread started').length === 2 ? true : undefined));
      const held = await post(gw);
      await new Promise((r) => setTimeout(r, 300));
      expect(await state(gw, held)).toBe('queued');
      expect(sample(await metrics(gw), 'gateway_delivery_paused')).toBe(1);

      await request(gw.url).post('/v1/admin/delivery/resume').set('Authorization', gw.as.operator).expect(200);
      await delivered(gw, lost);
      await delivered(gw, held);
      clearInterval(watch);
      expect(recordsSent(scr)).toBe(3);
      expect(readiness).toContain(false);
      expect((await request(gw.url).get('/ready')).body.checks.delivery).toBe(true);
    } finally {
      await gw.stop();
      await scr.close();
    }
  });
});

describe('a backlog of large records', () => {
  it("is claimed within the thread's heap bound, so the thread works through it rather than dying on it", async () => {
    // 40 bundles of ~300 KB: 12 MB of JSON. Taking the backlog at once ran a 32 MB thread out of memory at
    // every start; the thread's sends now hold at most claimBytesFor(32 MB) = 4 MB of it.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crg-thread-'));
    const outboxFile = path.join(dir, 'outbox.sqlite');
    const outbox = new SqliteOutbox(outboxFile);
    const people = nhsNumbers(40, 997_700_000);
    const ids = await outbox.enqueue(people.map((nhs, i) => submission(nhs, `resident:BIG-${i}@1`, 'x'.repeat(300_000))));
    await outbox.close();
    const scr = await LoopbackScr.start(answer);
    const gw = await startTestGateway({ DELIVERY_THREAD: 'on', SCR_BASE_URL: scr.url, OUTBOX_PATH: outboxFile, DELIVERY_THREAD_HEAP_MB: '32' });
    const reader = new SqliteOutbox(outboxFile);
    try {
      await eventually(async () => ((await reader.counts()).delivered === ids.length ? true : undefined));
      expect(gw.logLines.filter((l) => l.includes('delivery thread died'))).toEqual([]);
      expect(recordsSent(scr)).toBe(40);
    } finally {
      await reader.close();
      await gw.stop();
      await scr.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('DELIVERY_THREAD=off', () => {
  it('delivers from the main event loop, with no thread to start or stop', async () => {
    const scr = await LoopbackScr.start(answer);
    const gw = await startTestGateway({ SCR_BASE_URL: scr.url, DELIVERY_THREAD: 'off' });
    try {
      const id = await post(gw);
      await delivered(gw, id);
      expect((await request(gw.url).get('/ready')).body.checks.delivery).toBe(true);
      expect(gw.logLines.some((l) => l.includes('"delivery thread started"'))).toBe(false);
    } finally {
      await gw.stop();
      await scr.close();
    }
  });
});

/** A server listening on a free loopback port, and that port. */
async function listening(port = 0): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  return { server, port: (server.address() as net.AddressInfo).port };
}

describe('a start-up that fails after the delivery thread started', () => {
  it('stops the thread and closes the development SCR before it throws', async () => {
    const free = await listening();
    await new Promise((resolve) => free.server.close(resolve));
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crg-test-'));
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n')));
    // The research pseudonym secret is read after the development SCR and the thread are running.
    const config = loadConfig({
      PORT: '0',
      DEV_SCR_PORT: String(free.port),
      DATA_DIR: dataDir,
      DELIVERY_THREAD: 'on',
      SECONDARY_USES: 'on',
      RESEARCH_PSEUDONYM_SECRET_FILE: path.join(dataDir, 'missing-secret'),
    });
    try {
      await expect(startGateway(config, createLogger('info', stream))).rejects.toThrow(/missing-secret/);
      expect(lines.some((l) => l.includes('"delivery thread started"'))).toBe(true);
      expect(lines.some((l) => l.includes('"delivery thread stopped"'))).toBe(true);
      // The development SCR let go of its port.
      const again = await listening(free.port);
      await new Promise((resolve) => again.server.close(resolve));
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('DELIVERY_THREAD', () => {
  it('is on by default with the SQLite outbox, off by default with PostgreSQL, and either when set so', () => {
    expect(loadConfig({}).deliveryThread).toBe(true);
    expect(loadConfig({ DELIVERY_THREAD: 'off' }).deliveryThread).toBe(false);
    expect(loadConfig({ DATABASE_URL: 'postgres://localhost/crg' }).deliveryThread).toBe(false);
    expect(loadConfig({ DATABASE_URL: 'postgres://localhost/crg', DELIVERY_THREAD: 'on' }).deliveryThread).toBe(true);
  });

  it('is off for a :memory: outbox, which no second connection can reach, and refused if asked for', () => {
    expect(loadConfig({ OUTBOX_PATH: ':memory:' }).deliveryThread).toBe(false);
    expect(() => loadConfig({ OUTBOX_PATH: ':memory:', DELIVERY_THREAD: 'on' })).toThrow(ConfigError);
  });
});
