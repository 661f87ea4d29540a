/** The baseline: a Worker that reads and parses the batch and answers like the collector, doing nothing else. */
export default {
  async fetch(req: Request): Promise<Response> {
    if (req.method === 'POST') {
      const body = JSON.parse(await req.text()) as { batch?: unknown[] };
      return Response.json({ success: true, accepted: body.batch?.length ?? 0 });
    }
    return Response.json({ ok: true });
  },
};
