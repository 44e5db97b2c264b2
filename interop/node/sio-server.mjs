// Runs the official socket.io server, controlled by the Go tests: the
// reference the client drivers and our implementations are compared against.
//
// Usage: node node/sio-server.mjs '{"opts":{...},"namespaces":["/"],"reject":{...}}'
//   opts: socket.io ServerOptions as JSON (path, pingInterval, pingTimeout,
//   maxHttpBufferSize, transports, connectionStateRecovery, cors, ...);
//   "parser":"msgpack" selects socket.io-msgpack-parser.
//   namespaces: the namespaces to serve; defaults to ["/"].
//   reject: {"message":"...","data":{...},"unlessToken":"t"} adds a
//   middleware to every namespace that refuses a connection whose
//   handshake auth.token is not unlessToken, with an Error(message) whose
//   data is data.
//   rejectEvents: ["name", ...] adds a socket middleware (socket.use) that
//   refuses these events; the refusal is reported as "error".
// Built-in behaviour on every namespace: the event "echo" is answered with its
// arguments, by ack when one is asked for, by emitting "echo" otherwise.
// The server listens on 127.0.0.1, on a free port.
//
// Protocol: JSON lines, see lib/jsonl.mjs for the framing, "ref"/"done",
// "cmdError", "eval" and "exit". Sockets are named by their namespace ("nsp")
// and id ("id"). Binary parts of arguments are {"$bin":"<base64>"}.
//
// Commands:
//   {"cmd":"emit","nsp":"/","id":"...","event":"name","args":[...],
//    "ack":false,"ackId":"a1","timeout":0,"volatile":false,"stale":false}
//       socket.emit; with "ack", the answer is reported as "ack" with ackId
//       (through socket.timeout(ms) when "timeout" is set). With "stale", the
//       socket object is the last one seen with this id, even disconnected.
//   {"cmd":"broadcast","nsp":"/","rooms":["r"],"except":["r2"],"event":"name","args":[...]}
//   {"cmd":"join","nsp":"/","id":"...","room":"r"} / {"cmd":"leave",...}
//   {"cmd":"reply","ackRef":N,"args":[...]}    answers a client's ack request
//   {"cmd":"disconnect","nsp":"/","id":"...","close":false}
//   {"cmd":"count","nsp":"/"}   answers done with {"sockets":N,"engine":N}
//
// Events:
//   {"type":"listening","port":N,"url":"http://127.0.0.1:N"}   before "ready"
//   {"type":"connection","nsp","id","auth":{...},"query":{...},"recovered":false,"transport"}
//   {"type":"event","nsp","id","name","args":[...],"ackRef":N}  ackRef when an ack is asked for
//   {"type":"ack","ackId","args":[...]} or {"type":"ack","ackId","error":{"message"}}
//   {"type":"disconnect","nsp","id","reason"}
//   {"type":"rejected","nsp","auth":{...}}     the reject middleware refused a socket
//   {"type":"error","nsp","id","message"}      a socket middleware refused an event, or
//                                              the connection sent an undecodable packet

import { createServer } from "node:http";
import { Server } from "socket.io";
import msgpackParser from "socket.io-msgpack-parser";
import { decode, encode, encodeError, out, parseArgs, serve } from "./lib/jsonl.mjs";

const args = parseArgs();
const http = createServer();
const opts = args.opts || {};
if (opts.parser === "msgpack") opts.parser = msgpackParser;
const io = new Server(http, opts);
const pending = new Map();
const seen = new Map(); // "nsp id" → last socket, connected or not
let nextAckRef = 1;

for (const name of args.namespaces || ["/"]) {
  const nsp = io.of(name);
  if (args.reject) {
    nsp.use((socket, next) => {
      if (socket.handshake.auth?.token === args.reject.unlessToken) return next();
      out({ type: "rejected", nsp: name, auth: encode(socket.handshake.auth) });
      const err = new Error(args.reject.message || "unauthorized");
      if (args.reject.data !== undefined) err.data = args.reject.data;
      next(err);
    });
  }
  nsp.on("connection", (socket) => {
    const ev = (type, fields) => out({ type, nsp: name, id: socket.id, ...fields });
    seen.set(`${name} ${socket.id}`, socket);
    if (args.rejectEvents) {
      socket.use(([event], next) =>
        next(args.rejectEvents.includes(event) ? new Error(`refused ${event}`) : undefined),
      );
    }
    // without a listener, an "error" (refused event, undecodable packet)
    // would end the process
    socket.on("error", (err) => ev("error", { message: err.message }));
    ev("connection", {
      auth: encode(socket.handshake.auth),
      query: socket.handshake.query,
      recovered: socket.recovered,
      transport: socket.conn.transport.name,
    });
    socket.onAny((event, ...a) => {
      const fields = { name: event };
      const last = a[a.length - 1];
      let ack;
      if (typeof last === "function") {
        ack = a.pop();
        if (event !== "echo") {
          fields.ackRef = nextAckRef++;
          pending.set(fields.ackRef, ack);
        }
      }
      fields.args = encode(a);
      ev("event", fields);
      if (event === "echo") {
        if (ack) ack(...a);
        else socket.emit("echo", ...a);
      }
    });
    socket.on("disconnect", (reason) => ev("disconnect", { reason }));
  });
}

function sock(c) {
  const s = io.of(c.nsp || "/").sockets.get(c.id);
  if (!s) throw new Error(`no socket ${c.id} in ${c.nsp || "/"}`);
  return s;
}

http.listen(0, "127.0.0.1", () => {
  const { port } = http.address();
  out({ type: "listening", port, url: `http://127.0.0.1:${port}` });
  serve(
    {
      emit: (c) => {
        let e = c.stale ? seen.get(`${c.nsp || "/"} ${c.id}`) : sock(c);
        if (!e) throw new Error(`never saw socket ${c.id}`);
        if (c.volatile) e = e.volatile;
        const a = decode(c.args || []);
        if (!c.ack) {
          e.emit(c.event, ...a);
          return;
        }
        const report = (fields) => out({ type: "ack", ackId: c.ackId, ...fields });
        if (c.timeout) {
          e.timeout(c.timeout).emit(c.event, ...a, (err, ...resp) => {
            if (err) report({ error: encodeError(err) });
            else report({ args: encode(resp) });
          });
        } else {
          e.emit(c.event, ...a, (...resp) => report({ args: encode(resp) }));
        }
      },
      broadcast: (c) => {
        let b = io.of(c.nsp || "/");
        if (c.rooms?.length) b = b.to(c.rooms);
        if (c.except?.length) b = b.except(c.except);
        b.emit(c.event, ...decode(c.args || []));
      },
      join: (c) => {
        sock(c).join(c.room);
      },
      leave: (c) => {
        sock(c).leave(c.room);
      },
      reply: (c) => {
        const fn = pending.get(c.ackRef);
        if (!fn) throw new Error(`no pending ack ${c.ackRef}`);
        pending.delete(c.ackRef);
        fn(...decode(c.args || []));
      },
      disconnect: (c) => {
        sock(c).disconnect(!!c.close);
      },
      count: (c) => ({ sockets: io.of(c.nsp || "/").sockets.size, engine: io.engine.clientsCount }),
    },
    { io, http, pending },
  );
});
