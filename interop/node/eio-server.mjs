// Runs the official engine.io server, controlled by the Go tests: the
// reference the drivers and our server are compared against.
//
// Usage: node node/eio-server.mjs '{"opts":{...},"echo":false}'
//   opts: engine.io ServerOptions as JSON (path, pingInterval, pingTimeout,
//   maxHttpBufferSize, transports, allowUpgrades, cookie, cors, ...).
//   echo: send every message back to its session.
// The server listens on 127.0.0.1, on a free port.
//
// Protocol: JSON lines, see lib/jsonl.mjs for the framing, "ref"/"done",
// "cmdError", "eval" and "exit". Sessions are named by their id ("sid").
//
// Commands:
//   {"cmd":"send","sid":"...","data":"text" | {"$bin":"..."}}
//   {"cmd":"sendMany","sid":"...","count":N,"prefix":"s","intervalMs":0,"binary":false}
//       then reports "sent"
//   {"cmd":"close","sid":"..."}               socket.close()
//   {"cmd":"clientsCount"}                     answers done with {"count":N}
//   {"cmd":"echo","enabled":true}
//
// Events:
//   {"type":"listening","port":N,"url":"http://127.0.0.1:N"}   before "ready"
//   {"type":"connection","sid","transport","query":{...},"headers":{...}}
//   {"type":"upgrading","sid","transport"} / {"type":"upgrade","sid","transport"}
//   {"type":"message","sid","data":...}
//   {"type":"sent","sid","count":N}
//   {"type":"close","sid","reason","description":{...}|null}
//   {"type":"connectionError","code","message","context":{...}}

import { createServer } from "node:http";
import { Server } from "engine.io";
import { decode, encode, encodeError, out, pace, parseArgs, serve } from "./lib/jsonl.mjs";

const args = parseArgs();
let echo = !!args.echo;
const http = createServer();
const engine = new Server(args.opts || {});
engine.attach(http, args.opts || {});

const sessions = new Map();

engine.on("connection", (socket) => {
  const sid = socket.id;
  sessions.set(sid, socket);
  const ev = (type, fields) => out({ type, sid, ...fields });
  ev("connection", {
    transport: socket.transport.name,
    query: socket.request._query,
    headers: socket.request.headers,
  });
  socket.on("upgrading", (t) => ev("upgrading", { transport: t.name }));
  socket.on("upgrade", (t) => ev("upgrade", { transport: t.name }));
  socket.on("message", (data) => {
    ev("message", { data: encode(data) });
    if (echo) socket.send(data);
  });
  socket.on("close", (reason, description) => {
    sessions.delete(sid);
    ev("close", { reason, description: encodeError(description) });
  });
});

engine.on("connection_error", (err) => {
  out({ type: "connectionError", code: err.code, message: err.message, context: encode(err.context) });
});

function get(c) {
  const s = sessions.get(c.sid);
  if (!s) throw new Error(`no session ${JSON.stringify(c.sid)}`);
  return s;
}

http.listen(0, "127.0.0.1", () => {
  const { port } = http.address();
  out({ type: "listening", port, url: `http://127.0.0.1:${port}` });
  serve(
    {
      send: (c) => {
        get(c).send(decode(c.data));
      },
      sendMany: (c) => {
        const s = get(c);
        const prefix = c.prefix ?? "";
        pace(
          c.count,
          c.intervalMs,
          (i) => s.send(c.binary ? Buffer.from(prefix + i) : prefix + i),
          () => out({ type: "sent", sid: c.sid, count: c.count }),
        );
      },
      close: (c) => {
        get(c).close();
      },
      clientsCount: () => ({ count: engine.clientsCount }),
      echo: (c) => {
        echo = c.enabled !== false;
      },
    },
    { engine, http, sessions },
  );
});
