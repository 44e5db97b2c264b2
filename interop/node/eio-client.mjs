// Drives engine.io-client (the official Engine.IO client) for the Go tests.
//
// Usage: node node/eio-client.mjs
//
// Protocol: JSON lines, see lib/jsonl.mjs for the framing, "ref"/"done",
// "cmdError", "eval" and "exit". Several clients can run in one process; each
// is named by the "socket" field of commands and events. Text data travels as
// a JSON string, binary data as {"$bin":"<base64>"}.
//
// Commands:
//   {"cmd":"open","socket":"c1","url":"http://127.0.0.1:PORT","opts":{...},"packets":false}
//       new Socket(url, opts); opts are engine.io-client options as JSON
//       (path, transports, upgrade, query, extraHeaders, withCredentials,
//       rememberUpgrade, ...). With "packets": true, every packet received and
//       created is reported too.
//   {"cmd":"send","socket":"c1","data":"text" | {"$bin":"..."},"opts":{"compress":false}}
//   {"cmd":"sendMany","socket":"c1","count":N,"prefix":"m","intervalMs":0,"binary":false}
//       sends prefix+i for i in [0,N) (as bytes when binary), one every
//       intervalMs (all at once when 0), then reports "sent".
//   {"cmd":"pongs","socket":"c1","enabled":false}
//       stops (or resumes) answering the server's pings; nothing else changes.
//   {"cmd":"close","socket":"c1"}
//   {"cmd":"state","socket":"c1"}  answers done with
//       {"readyState","transport","sid","upgrading"}.
//
// Events (every one has "type" and "socket"):
//   {"type":"open","sid","transport","upgrades":[...],"pingInterval","pingTimeout","maxPayload"}
//   {"type":"upgrading","transport"}        the probe succeeded, pausing the old transport
//   {"type":"upgrade","transport"}          the new transport is in use
//   {"type":"upgradeError","error":{...}}
//   {"type":"message","data":...}
//   {"type":"ping"}                         a server ping arrived
//   {"type":"sent","count":N}               end of a sendMany
//   {"type":"close","reason":"...","description":{...}|null}
//   {"type":"error","error":{"message","description","context","code"}}
//   {"type":"packet","packetType","data"} / {"type":"packetCreate",...}  with "packets"

import { Socket } from "engine.io-client";
import { decode, encode, encodeError, out, pace, serve } from "./lib/jsonl.mjs";

const sockets = new Map();

function get(c) {
  const s = sockets.get(c.socket);
  if (!s) throw new Error(`no socket ${JSON.stringify(c.socket)}`);
  return s;
}

function open(c) {
  const name = c.socket;
  if (typeof name !== "string" || name === "") throw new Error("open needs a socket name");
  if (sockets.has(name)) throw new Error(`socket ${name} exists`);
  const ev = (type, fields) => out({ type, socket: name, ...fields });
  const s = new Socket(c.url, c.opts || {});
  const state = { socket: s, pongs: true, handshake: null };
  sockets.set(name, state);

  const sendPacket = s._sendPacket;
  s._sendPacket = function (type, ...rest) {
    if (type === "pong" && !state.pongs) return;
    return sendPacket.call(this, type, ...rest);
  };

  s.on("handshake", (h) => (state.handshake = h));
  s.on("open", () => {
    const h = state.handshake || {};
    ev("open", {
      sid: s.id,
      transport: s.transport?.name,
      upgrades: h.upgrades,
      pingInterval: h.pingInterval,
      pingTimeout: h.pingTimeout,
      maxPayload: h.maxPayload,
    });
  });
  s.on("upgrading", (t) => ev("upgrading", { transport: t.name }));
  s.on("upgrade", (t) => ev("upgrade", { transport: t.name }));
  s.on("upgradeError", (err) => ev("upgradeError", { error: encodeError(err) }));
  s.on("message", (data) => ev("message", { data: encode(data) }));
  s.on("ping", () => ev("ping", {}));
  s.on("error", (err) => ev("error", { error: encodeError(err) }));
  s.on("close", (reason, description) => {
    ev("close", { reason, description: encodeError(description) });
  });
  if (c.packets) {
    s.on("packet", (p) => ev("packet", { packetType: p.type, data: encode(p.data) }));
    s.on("packetCreate", (p) => ev("packetCreate", { packetType: p.type, data: encode(p.data) }));
  }
}

serve(
  {
    open,
    send: (c) => {
      get(c).socket.send(decode(c.data), c.opts);
    },
    sendMany: (c) => {
      const { socket } = get(c);
      const prefix = c.prefix ?? "";
      pace(
        c.count,
        c.intervalMs,
        (i) => socket.send(c.binary ? Buffer.from(prefix + i) : prefix + i),
        () => out({ type: "sent", socket: c.socket, count: c.count }),
      );
    },
    pongs: (c) => {
      get(c).pongs = c.enabled !== false;
    },
    close: (c) => {
      get(c).socket.close();
    },
    state: (c) => {
      const s = get(c).socket;
      return { readyState: s.readyState, transport: s.transport?.name, sid: s.id, upgrading: !!s.upgrading };
    },
  },
  { sockets },
);
