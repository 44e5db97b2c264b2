// The Node side of the Admin UI tests: a socket.io server instrumented by the
// official instrument() of @socket.io/admin-ui, optionally in a Redis cluster
// through @socket.io/redis-adapter, and socket.io-client sockets, among them
// "UIs" connected to an admin namespace that report every event they receive.
//
// Usage: node node/admin.mjs
//
// Commands (JSON lines, see lib/jsonl.mjs):
//   {"cmd":"startServer","hash":"<bcrypt>","serverId":"node-1","redisUrl":"redis://..."}
//       answers done with {"url":"http://127.0.0.1:N"}. Its main namespace
//       handles "hello": the socket joins "lobby" and is sent "welcome".
//   {"cmd":"ui","name":"u","url":"http://...","auth":{...}}
//       connects to url + "/admin"; answers done with {"id"} or {"error"}
//   {"cmd":"client","name":"c","url":"http://..."}   answers done with {"id"}
//   {"cmd":"emit","name":"c","event":"e","args":[...]}
//   {"cmd":"close","name":"c"}
//
// Events: {"type":"ui","name","event","args":[...]} for each event a UI
// receives; {"type":"disconnect","name","reason"} when a socket is
// disconnected.

import { createServer } from "node:http";
import { Server } from "socket.io";
import { io as connect } from "socket.io-client";
import { instrument } from "@socket.io/admin-ui";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { decode, encode, out, serve } from "./lib/jsonl.mjs";

const sockets = new Map();

function open(c, nsp, opts) {
  return new Promise((resolve) => {
    const s = connect(c.url + nsp, { forceNew: true, reconnection: false, ...opts });
    sockets.set(c.name, s);
    s.once("connect", () => resolve({ id: s.id }));
    s.once("connect_error", (err) => resolve({ error: err.message }));
    s.on("disconnect", (reason) => out({ type: "disconnect", name: c.name, reason }));
    if (nsp === "/admin") {
      s.onAny((event, ...args) => out({ type: "ui", name: c.name, event, args: encode(args) }));
    }
  });
}

serve({
  startServer: async (c) => {
    const http = createServer();
    const io = new Server(http);
    if (c.redisUrl) {
      const pub = createClient({ url: c.redisUrl });
      const sub = pub.duplicate();
      await Promise.all([pub.connect(), sub.connect()]);
      io.adapter(createAdapter(pub, sub));
    }
    instrument(io, {
      auth: { type: "basic", username: "admin", password: c.hash },
      serverId: c.serverId,
      mode: "development",
    });
    io.on("connection", (socket) => {
      socket.on("hello", () => {
        socket.join("lobby");
        socket.emit("welcome", "lobby");
      });
    });
    await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
    return { url: `http://127.0.0.1:${http.address().port}` };
  },
  ui: (c) => open(c, "/admin", { auth: c.auth || {} }),
  client: (c) => open(c, "/", {}),
  emit: (c) => {
    sockets.get(c.name).emit(c.event, ...decode(c.args || []));
  },
  close: (c) => {
    sockets.get(c.name).disconnect();
  },
});
