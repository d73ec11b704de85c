/**
 * The audit trail: every write, read and refusal becomes a UK Core AuditEvent, stored append-only in the
 * gateway's own database before the answer is sent, and forwarded to the SCR through the outbox (so an SCR
 * outage loses no audit either).
 */
import type { Bundle } from 'fhir/r4';
import type { Outbox } from '../outbox/outbox';
import { auditEvent, type AuditInput } from './audit-event';
import type { AuditStore } from './audit-store';

/** Outbox ordering key for audit events: each is independent, so none waits for another. */
const AUDIT_PROVIDER = 'GATEWAY';

export class AuditLog {
  constructor(
    private readonly store: AuditStore,
    private readonly outbox: Outbox,
  ) {}

  /** One AuditEvent per person touched (or one about no one), stored and queued for the SCR. */
  async record(input: Omit<AuditInput, 'nhsNumber'>, nhsNumbers: string[] = []): Promise<void> {
    const events = (nhsNumbers.length > 0 ? nhsNumbers : [undefined]).map((nhsNumber) => auditEvent({ ...input, nhsNumber }));
    for (const event of events) this.store.append(event);
    await this.outbox.enqueue(
      events.map((event) => {
        const bundle: Bundle = {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [{ fullUrl: `urn:uuid:${event.id}`, resource: event, request: { method: 'POST', url: 'AuditEvent' } }],
        };
        return { providerOds: AUDIT_PROVIDER, orderingKey: `audit:${event.id}`, records: [`audit:${event.id}`], bundle };
      }),
    );
  }
}
