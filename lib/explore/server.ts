/**
 * The explorer's HTTP endpoint: a Deno.serve on 127.0.0.1 inside the kernel (it answers while the
 * kernel is idle; Deno's Jupyter kernel drops comm messages from the front end, so widgets cannot
 * call back, DESIGN.md section 4).
 *
 *   GET /frame?face=test:3&method=idstyle-official&gender=1&smile=-0.5&topk=150&intensity=1
 *       -> 200 JSON ExplorerFrame, or 400 JSON { error } naming the bad parameter
 *   GET /health -> 200 "ok"
 *
 * Responses carry Access-Control-Allow-Origin: * (the notebook page is served by Jupyter from
 * another port).
 */
import { type ExplorerFrame, ExplorerSession, ParamError } from "./session.ts";

export interface ExplorerServer {
  port: number;
  url: string;
  session: ExplorerSession;
  /** Called with every frame the endpoint serves (showExplorer keeps the saved output current). */
  onFrame?: (frame: ExplorerFrame) => void;
  close(): Promise<void>;
}

const HEADERS = {
  "access-control-allow-origin": "*",
  "cache-control": "no-store",
};

/** Answers one request (exported for tests that need no socket). */
export function handle(
  session: ExplorerSession,
  req: Request,
  onFrame?: (frame: ExplorerFrame) => void,
): Response {
  const url = new URL(req.url);
  if (url.pathname === "/health") return new Response("ok", { headers: HEADERS });
  if (url.pathname !== "/frame") {
    return json({ error: `unknown path ${url.pathname}; expected /frame or /health` }, 404);
  }
  try {
    const params = session.parse(url.searchParams);
    const frame = session.frame(params);
    onFrame?.(frame);
    return json(frame, 200);
  } catch (err) {
    if (err instanceof ParamError || err instanceof RangeError) {
      return json({ error: (err as Error).message }, 400);
    }
    return json({ error: `internal error: ${(err as Error).message}` }, 500);
  }
}

function json(body: unknown, status: number): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...HEADERS, "content-type": "application/json" },
  });
}

/** Starts the endpoint on 127.0.0.1 (port 0: any free port). */
export function serveExplorer(session: ExplorerSession, port = 0): ExplorerServer {
  const ac = new AbortController();
  // deno-lint-ignore prefer-const
  let api: ExplorerServer;
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port,
    signal: ac.signal,
    onListen: () => {},
  }, (req) => handle(session, req, api.onFrame));
  const addr = server.addr as Deno.NetAddr;
  api = {
    port: addr.port,
    url: `http://127.0.0.1:${addr.port}`,
    session,
    close: async () => {
      ac.abort();
      await server.finished;
    },
  };
  return api;
}
