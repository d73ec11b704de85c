/**
 * The audit trail: every write, read and refusal becomes a UK Core AuditEvent, stored append-only in the
 * gateway's own database before the answer is sent, and forwarded to the SCR through the outbox (so an SCR
 * outage loses no audit either).
 *
 * Group commit: the events of every request that records in the same turn of the event loop are stored in one
 * audit transaction and queued in one outbox transaction, so concurrent requests share the two synchronous
 * (fsync) commits instead of paying two each. Each caller's promise still settles only after its events are
 * stored and queued, so an answer never goes out before its audit is durable; the batch's events travel to the SCR
 * in one transaction Bundle (up to AUDIT_EVENTS_PER_SUBMISSION). The audit commit's sync runs on the thread
 * pool (AuditStore.appendAllSynced), so the event loop serves other requests while the disk works. If a commit
 * fails, every caller in that batch sees the error (nothing of the batch was stored, as SQLite transactions are
 * all or nothing).
 */
import type { AuditEvent, Bundle } from 'fhir/r4';
import type { NewSubmission, Outbox } from '../outbox/outbox';
import { auditEvent, type AuditInput } from './audit-event';
import { AuditStore } from './audit-store';

/** Outbox ordering key for audit events: each is independent, so none waits for another. */
const AUDIT_PROVIDER = 'GATEWAY';

interface Waiting {
  events: AuditEvent[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** AuditEvents forwarded in one transaction at most; a batch larger than this becomes several submissions. */
export const AUDIT_EVENTS_PER_SUBMISSION = 100;

/**
 * One submission for a batch of events: they are independent and each is POSTed, so one transaction carries
 * them all, and concurrent requests cost the SCR one delivery instead of one each.
 */
function submission(events: AuditEvent[]): NewSubmission {
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: events.map((event) => ({ fullUrl: `urn:uuid:${event.id}`, resource: event, request: { method: 'POST', url: 'AuditEvent' } })),
  };
  return { providerOds: AUDIT_PROVIDER, orderingKey: `audit:${events[0].id}`, records: events.map((e) => `audit:${e.id}`), bundle };
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class AuditLog {
  private waiting: Waiting[] = [];

  constructor(
    private readonly store: AuditStore,
    private readonly outbox: Outbox,
  ) {}

  /** One AuditEvent per person touched (or one about no one), stored and queued for the SCR. */
  record(input: Omit<AuditInput, 'nhsNumber'>, nhsNumbers: string[] = []): Promise<void> {
    const events = (nhsNumbers.length > 0 ? nhsNumbers : [undefined]).map((nhsNumber) => auditEvent({ ...input, nhsNumber }));
    // A malformed event fails its own caller only, never the batch it would have joined.
    for (const event of events) AuditStore.check(event);
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ events, resolve, reject });
      // After this turn's I/O callbacks, so every request that records in this turn joins the same commit.
      if (this.waiting.length === 1) setImmediate(() => void this.commit());
    });
  }

  private async commit(): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    const events = batch.flatMap((w) => w.events);
    try {
      // Off the event loop while the disk syncs: other requests map and validate meanwhile.
      await this.store.appendAllSynced(events);
      await this.outbox.enqueue(chunks(events, AUDIT_EVENTS_PER_SUBMISSION).map(submission));
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    for (const w of batch) w.resolve();
  }
}
