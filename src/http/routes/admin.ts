/**
 * Operators: see and replay dead letters, pause and resume delivery. Answers carry delivery state and the
 * SCR's last answer, never the clinical content of a submission.
 */
import { Router } from 'express';
import type { Delivery } from '../../forward/delivery-thread';
import { notFound, conflict } from '../../fhir/operation-outcome';
import type { Outbox } from '../../outbox/outbox';
import { permit, type Security } from '../security';

export interface AdminDeps {
  outbox: Outbox;
  worker: Pick<Delivery, 'pause' | 'resume' | 'paused' | 'notify' | 'circuit'>;
}

export function adminRouter({ outbox, worker }: AdminDeps, security: Security): Router {
  const router = Router();
  const admin = (description: string, fn: Parameters<Security['guarded']>[2]) =>
    security.guarded('execute', description, (req) => {
      permit({ type: 'admin' });
      return fn(req);
    });

  router.get('/v1/admin/dead-letters', admin('list dead letters', async (req) => {
    const limit = Math.min(Math.max(Number(req.query.limit) || 100, 1), 1000);
    return { status: 200, body: { deadLetters: await outbox.deadLetters(limit) } };
  }));

  router.post('/v1/admin/dead-letters/:id/replay', admin('replay a dead letter', async (req) => {
    const id = String(req.params.id);
    if (!(await outbox.get(id))) throw notFound('No such submission');
    if (!(await outbox.replay(id))) throw conflict('The submission is not a dead letter', 'id');
    worker.notify();
    return { status: 202, body: await outbox.get(id) };
  }));

  router.get('/v1/admin/delivery', admin('read delivery state', async () => ({
    status: 200,
    // The stored flag, which every replica follows, rather than this replica's last reading of it.
    body: { paused: await outbox.isPaused(), circuit: worker.circuit, counts: await outbox.counts() },
  })));

  router.post('/v1/admin/delivery/pause', admin('pause delivery', async () => {
    await worker.pause();
    return { status: 200, body: { paused: true } };
  }));

  router.post('/v1/admin/delivery/resume', admin('resume delivery', async () => {
    await worker.resume();
    return { status: 200, body: { paused: false } };
  }));

  return router;
}
