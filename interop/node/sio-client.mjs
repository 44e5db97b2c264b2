// Drives socket.io-client (the official Socket.IO client) for the Go tests.
//
// Usage: node node/sio-client.mjs [package]
//
// package is the client to load, socket.io-client by default;
// socket.io-client-v3 runs the 3.x client (the same protocols as 4.x, without
// timeout(), recovery or retries).
//
// Protocol: JSON lines, see lib/jsonl.mjs for the framing, "ref"/"done",
// "cmdError", "eval" and "exit". Several sockets can run in one process; each
// is named by the "socket" field of commands and events. Sockets opened on the
// same URL share one Manager (one Engine.IO connection) unless opts.forceNew
// or opts.multiplex:false is given, as with io(). Event arguments are JSON;
// binary parts are {"$bin":"<base64>"} at any depth, in both directions.
//
// Commands:
//   {"cmd":"open","socket":"s1","url":"http://127.0.0.1:PORT","nsp":"/chat","opts":{...}}
//       io(url + nsp, opts); opts are socket.io-client options as JSON (path,
//       transports, auth, query, reconnection, reconnectionDelay, timeout,
//       ackTimeout, retries, forceNew, autoConnect, ...); "parser":"msgpack"
//       selects socket.io-msgpack-parser.
//   {"cmd":"connect","socket":"s1"}            socket.connect()
//   {"cmd":"disconnect","socket":"s1"}         socket.disconnect()
//   {"cmd":"emit","socket":"s1","event":"name","args":[...],
//    "ack":false,"ackId":"a1","timeout":0,"volatile":false,"compress":true}
//       socket.emit(event, ...args). With "ack": true, a callback is added and
//       its answer is reported as "ack" with the given ackId; with "timeout"
//       (ms) it goes through socket.timeout(ms), so the ack may carry an error.
//   {"cmd":"reply","socket":"s1","ackRef":N,"args":[...]}
//       answers a server event that asked for an ack (see "event").
//   {"cmd":"autoAck","socket":"s1","event":"name","args":[...]} or
//   {"cmd":"autoAck","socket":"s1","event":"name","echo":true}
//       from now on answers every ack request of that event at once, with
//       args or with the received arguments.
//   {"cmd":"closeEngine","socket":"s1"}
//       closes the underlying Engine.IO transport as a network failure would
//       (reason "transport close"; the Manager then reconnects when allowed).
//       During an upgrade, it waits for the upgrade to end first.
//   {"cmd":"burst","socket":"s1","event":"name","count":N,"pad":P}
//       socket.emit(event, {i, pad}) for i in [0, N), in one synchronous loop,
//       pad being P "x" characters: what a reconnection's buffer flush does.
//   {"cmd":"state","socket":"s1"}  answers done with
//       {"id","connected","active","recovered","transport"}.
//   {"cmd":"wsHeaders","url":"ws://…","headers":{...}}  opens a plain WebSocket
//       (the "ws" package the client uses) with the given request headers and
//       answers done with {"status":101,"headers":{...}} from the server's
//       handshake response, then closes it.
//
// Events (every one has "type" and "socket"):
//   {"type":"connect","id":"...","recovered":false,"transport":"polling"}
//   {"type":"connect_error","error":{"message","data","type","description"}}
//   {"type":"disconnect","reason":"...","details":{...}|null}
//   {"type":"event","name":"...","args":[...],"ackRef":N}  ackRef only when the
//       server asked for an ack (and "acked":true when autoAck answered it)
//   {"type":"ack","ackId":"a1","args":[...]} or {"type":"ack","ackId":"a1","error":{"message"}}
//   Manager events, reported for each socket using the Manager:
//   {"type":"open"}  {"type":"close","reason"}  {"type":"ping"}  {"type":"upgrade","transport"}
//   {"type":"reconnect_attempt","attempt":N}  {"type":"reconnect","attempt":N}
//   {"type":"reconnect_error","error":{...}}  {"type":"reconnect_failed"}  {"type":"error","error":{...}}

import msgpackParser from "socket.io-msgpack-parser";
import { WebSocket } from "ws";
import { decode, encode, encodeError, out, serve } from "./lib/jsonl.mjs";
import { commands, get, reportEvent, sockets } from "./lib/sockets.mjs";

const { io } = await import(process.argv[2] || "socket.io-client");

function open(c) {
  const name = c.socket;
  if (typeof name !== "string" || name === "") throw new Error("open needs a socket name");
  if (sockets.has(name)) throw new Error(`socket ${name} exists`);
  const ev = (type, fields) => out({ type, socket: name, ...fields });
  const url = (c.url || "") + (c.nsp && c.nsp !== "/" ? c.nsp : "");
  const opts = decode(c.opts || {});
  if (opts.parser === "msgpack") opts.parser = msgpackParser;
  const socket = io(url, opts);
  const state = { socket, pending: new Map(), autoAcks: new Map() };
  sockets.set(name, state);

  socket.on("connect", () =>
    ev("connect", {
      id: socket.id,
      recovered: socket.recovered,
      transport: socket.io.engine?.transport?.name,
    }),
  );
  socket.on("connect_error", (err) => ev("connect_error", { error: encodeError(err) }));
  socket.on("disconnect", (reason, details) => ev("disconnect", { reason, details: encodeError(details) }));
  socket.onAny((event, ...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : undefined;
    reportEvent(state, ev, event, args, ack);
  });

  const m = socket.io;
  m.on("open", () => {
    ev("open", {});
    m.engine.on("upgrade", (t) => ev("upgrade", { transport: t.name }));
  });
  m.on("close", (reason) => ev("close", { reason }));
  m.on("ping", () => ev("ping", {}));
  m.on("error", (err) => ev("error", { error: encodeError(err) }));
  m.on("reconnect_attempt", (attempt) => ev("reconnect_attempt", { attempt }));
  m.on("reconnect", (attempt) => ev("reconnect", { attempt }));
  m.on("reconnect_error", (err) => ev("reconnect_error", { error: encodeError(err) }));
  m.on("reconnect_failed", () => ev("reconnect_failed", {}));
}

function emit(c) {
  const { socket } = get(c);
  let e = socket;
  if (c.volatile) e = e.volatile;
  if (c.compress === false) e = e.compress(false);
  const args = decode(c.args || []);
  if (!c.ack) {
    e.emit(c.event, ...args);
    return;
  }
  const report = (fields) => out({ type: "ack", socket: c.socket, ackId: c.ackId, ...fields });
  if (c.timeout) {
    e.timeout(c.timeout).emit(c.event, ...args, (err, ...resp) => {
      if (err) report({ error: encodeError(err) });
      else report({ args: encode(resp) });
    });
  } else {
    e.emit(c.event, ...args, (...resp) => report({ args: encode(resp) }));
  }
}

serve(
  {
    open,
    emit,
    ...commands,
    burst: (c) => {
      const { socket } = get(c);
      const pad = "x".repeat(c.pad || 0);
      for (let i = 0; i < c.count; i++) socket.emit(c.event, { i, pad });
    },
    wsHeaders: (c) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(c.url, { headers: c.headers || {} });
        ws.once("upgrade", (res) => {
          resolve({ status: res.statusCode, headers: res.headers });
          ws.terminate();
        });
        ws.once("error", reject);
        ws.once("unexpected-response", (_req, res) => reject(new Error(`status ${res.statusCode}`)));
      }),
    state: (c) => {
      const { socket } = get(c);
      return {
        id: socket.id,
        connected: socket.connected,
        active: socket.active,
        recovered: socket.recovered,
        transport: socket.io.engine?.transport?.name,
      };
    },
  },
  { sockets },
);
