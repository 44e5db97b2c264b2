// Runs the official socket.io server for the tests of our Go client.
//
// Usage: node node/client-server.mjs '{"port":0,"opts":{...}}'
//   port: the port to listen on (0: a free one), so that a test can restart
//   the server on the same address. opts: socket.io ServerOptions
//   ("parser":"msgpack" selects socket.io-msgpack-parser).
//
// Namespaces and behaviour:
//   "/" and "/admin": open.
//   "/secure": a middleware refuses sockets whose auth.token is not "good"
//     with Error("unauthorized") and data {"code":42}.
//   On every namespace:
//     "echo": answered with its arguments, by ack when asked, else by
//       emitting "echo" back.
//     "ask" (q): the server asks the client "question" (q) with an ack and a
//       2 s timeout, then emits "answer" with the reply (or {"error":...}).
//     "job": acknowledged with "done" only from its third delivery on, per
//       socket (for retries); each delivery is reported as a "job" event.
//     "silent": never acknowledged.
//     "types": acknowledged with the shape of its arguments, every leaf
//       replaced by its type: "Buffer", "string", "number", "boolean", "null".
//
// Protocol: JSON lines (see lib/jsonl.mjs). Events:
//   {"type":"listening","port":N,"url":"http://127.0.0.1:N"}
//   {"type":"connection","nsp","id","recovered","transport","auth"}
//   {"type":"disconnect","nsp","id","reason"}
//   {"type":"job","nsp","id","count"}
// Commands:
//   {"cmd":"emit","nsp":"/","event":"e","args":[...]}   to the whole namespace
//   {"cmd":"call","nsp":"/","event":"e","args":[...]}   to the whole namespace
//       with an acknowledgement (5 s timeout); answers done with
//       {"replies":[...]}, each reply the array of the client's ack arguments
//   {"cmd":"drop","nsp":"/","id":"..."}   closes the socket's connection
//       (the client sees "transport close", the server keeps the session
//       for recovery)

import { createServer } from "node:http";
import { Server } from "socket.io";
import msgpackParser from "socket.io-msgpack-parser";
import { decode, encode, encodeError, out, parseArgs, serve } from "./lib/jsonl.mjs";

const args = parseArgs();
const http = createServer();
const opts = args.opts || {};
if (opts.parser === "msgpack") opts.parser = msgpackParser;
const io = new Server(http, opts);
const jobs = new Map();

function setup(name) {
  const nsp = io.of(name);
  if (name === "/secure") {
    nsp.use((socket, next) => {
      if (socket.handshake.auth?.token === "good") return next();
      const err = new Error("unauthorized");
      err.data = { code: 42 };
      next(err);
    });
  }
  nsp.on("connection", (socket) => {
    out({
      type: "connection",
      nsp: name,
      id: socket.id,
      recovered: socket.recovered,
      transport: socket.conn.transport.name,
      auth: encode(socket.handshake.auth),
    });
    socket.on("echo", (...a) => {
      const last = a[a.length - 1];
      if (typeof last === "function") {
        const ack = a.pop();
        ack(...a);
      } else {
        socket.emit("echo", ...a);
      }
    });
    socket.on("ask", (q) => {
      socket.timeout(2000).emit("question", q, (err, reply) => {
        socket.emit("answer", err ? { error: err.message } : reply);
      });
    });
    socket.on("job", (...a) => {
      const ack = typeof a[a.length - 1] === "function" ? a.pop() : null;
      const n = (jobs.get(socket.id) || 0) + 1;
      jobs.set(socket.id, n);
      out({ type: "job", nsp: name, id: socket.id, count: n });
      if (n >= 3 && ack) ack("done");
    });
    socket.on("silent", () => {});
    socket.on("types", (...a) => {
      const ack = a.pop();
      ack(a.map(shape));
    });
    socket.on("disconnect", (reason) => out({ type: "disconnect", nsp: name, id: socket.id, reason }));
  });
}
// shape replaces every leaf of v by the name of its type.
function shape(v) {
  if (Buffer.isBuffer(v)) return "Buffer";
  if (v === null) return "null";
  if (Array.isArray(v)) return v.map(shape);
  if (typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]));
  return typeof v;
}

for (const name of ["/", "/admin", "/secure"]) setup(name);

http.listen(args.port || 0, "127.0.0.1", () => {
  const { port } = http.address();
  out({ type: "listening", port, url: `http://127.0.0.1:${port}` });
  serve(
    {
      emit: (c) => {
        io.of(c.nsp || "/").emit(c.event, ...decode(c.args || []));
      },
      call: async (c) => {
        const replies = await io
          .of(c.nsp || "/")
          .timeout(5000)
          .emitWithAck(c.event, ...decode(c.args || []));
        return { replies: encode(replies) };
      },
      drop: (c) => {
        const s = io.of(c.nsp || "/").sockets.get(c.id);
        if (!s) throw new Error(`no socket ${c.id}`);
        s.conn.close();
      },
    },
    { io, http, encodeError },
  );
});
