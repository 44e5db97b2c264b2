// Drives socket.io-client 2.x (Engine.IO v3, Socket.IO protocol v4) for the
// Go tests, with the commands and events of sio-client.mjs where the 2.x
// API has them.
//
// Usage: node node/sio2-client.mjs [package]   (default socket.io-client-v2)
//
// Commands (see sio-client.mjs): open (opts are 2.x options: transports,
// query, forceBase64, reconnection, reconnectionDelay, forceNew, ...; the
// namespace's query travels in the URL, as "nsp":"/admin?token=x"),
// connect, disconnect, emit (ack, compress; no timeout or volatile),
// reply, autoAck, closeEngine, state ({"id","connected","transport"}).
//
// Events: connect {"id","transport"}, connect_error, error (a namespace
// refused: the CONNECT_ERROR payload as "error"), disconnect {"reason"},
// event {"name","args","ackRef"?}, ack; Manager events: open, close,
// ping (the client pinged), pong {"latency"} (the server answered),
// upgrade, reconnect_attempt, reconnect, reconnect_error,
// reconnect_failed.

import { decode, encode, encodeError, out, serve } from "./lib/jsonl.mjs";
import { commands, get, reportEvent, sockets } from "./lib/sockets.mjs";

const pkg = process.argv[2] || "socket.io-client-v2";
const { default: io } = await import(pkg);

function open(c) {
  const name = c.socket;
  if (typeof name !== "string" || name === "") throw new Error("open needs a socket name");
  if (sockets.has(name)) throw new Error(`socket ${name} exists`);
  const ev = (type, fields) => out({ type, socket: name, ...fields });
  const url = (c.url || "") + (c.nsp && c.nsp !== "/" ? c.nsp : "");
  const socket = io(url, decode(c.opts || {}));
  const state = { socket, pending: new Map(), autoAcks: new Map() };
  sockets.set(name, state);

  socket.on("connect", () => ev("connect", { id: socket.id, transport: socket.io.engine?.transport?.name }));
  socket.on("connect_error", (err) => ev("connect_error", { error: encodeError(err) }));
  socket.on("error", (data) => ev("error", { error: encode(data) }));
  socket.on("disconnect", (reason) => ev("disconnect", { reason }));
  // 2.x has no onAny: every received event goes through onevent.
  socket.onevent = function (packet) {
    const args = (packet.data || []).slice();
    const event = args.shift();
    reportEvent(state, ev, event, args, packet.id != null ? this.ack(packet.id) : undefined);
  };

  const m = socket.io;
  m.on("open", () => {
    ev("open", {});
    m.engine.on("upgrade", (t) => ev("upgrade", { transport: t.name }));
  });
  m.on("close", (reason) => ev("close", { reason }));
  m.on("ping", () => ev("ping", {}));
  m.on("pong", (latency) => ev("pong", { latency }));
  m.on("reconnect_attempt", (attempt) => ev("reconnect_attempt", { attempt }));
  m.on("reconnect", (attempt) => ev("reconnect", { attempt }));
  m.on("reconnect_error", (err) => ev("reconnect_error", { error: encodeError(err) }));
  m.on("reconnect_failed", () => ev("reconnect_failed", {}));
}

function emit(c) {
  const { socket } = get(c);
  let e = socket;
  if (c.compress === false) e = e.compress(false);
  const args = decode(c.args || []);
  if (!c.ack) {
    e.emit(c.event, ...args);
    return;
  }
  e.emit(c.event, ...args, (...resp) => out({ type: "ack", socket: c.socket, ackId: c.ackId, args: encode(resp) }));
}

serve(
  {
    open,
    emit,
    ...commands,
    state: (c) => {
      const { socket } = get(c);
      return { id: socket.id, connected: socket.connected, transport: socket.io.engine?.transport?.name };
    },
  },
  { sockets },
);
