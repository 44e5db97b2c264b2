// Records what the official Node packages publish on Redis, as test vectors.
//
// It starts its own redis-server on a free loopback port (REDIS_SERVER names
// the binary, default "redis-server"), runs two Socket.IO servers with
// @socket.io/redis-adapter plus a @socket.io/redis-emitter, performs every
// kind of cluster operation and records, through a PSUBSCRIBE to every
// channel, the exact bytes of each published message. The vectors are
// written as hex into ../classic.json (adapter and emitter). The sharded
// adapter (SSUBSCRIBE/SPUBLISH) is recorded the same way into
// ../sharded.json, through SSUBSCRIBE to its channels.
//
// "node capture.js streams" records @socket.io/redis-streams-adapter
// instead, into ../streams.json: the stream entries each operation adds
// (read back with XRANGE), the messages it publishes, and the value of a
// persisted session.
//
//   npm ci && node capture.js [streams]
"use strict";

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const path = require("node:path");

const { createClient } = require("redis");
const { Server } = require("socket.io");
const { io: connectClient } = require("socket.io-client");
const { createAdapter, createShardedAdapter } = require("@socket.io/redis-adapter");
const { Emitter } = require("@socket.io/redis-emitter");
const { Encoder } = require("socket.io-parser");
const msgpack = require("notepack.io");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

let redisProc;

async function startRedis() {
  const port = await freePort();
  const bin = process.env.REDIS_SERVER || "redis-server";
  const proc = spawn(bin, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, "127.0.0.1", () => {
        c.end();
        resolve(true);
      });
      c.on("error", () => resolve(false));
    });
    redisProc = proc;
    if (ok) return { proc, url: `redis://127.0.0.1:${port}` };
    await sleep(50);
  }
  proc.kill();
  throw new Error("redis-server did not start");
}

// The Socket.IO form of an EVENT payload: the JSON text with placeholders
// and the attachments, as socket.io-parser writes them for a client.
function socketIOForm(data) {
  const parts = new Encoder().encode({ type: 2, nsp: "/", data });
  const text = parts[0];
  return {
    json: text.slice(text.indexOf("[")),
    attachments: parts.slice(1).map((b) => Buffer.from(b).toString("hex")),
  };
}

// A JSON view of a decoded message, with Buffers as {"$bin": hex} and Dates
// as {"$date": ms}.
function view(v) {
  if (Buffer.isBuffer(v)) return { $bin: v.toString("hex") };
  if (v instanceof Date) return { $date: v.getTime() };
  if (Array.isArray(v)) return v.map(view);
  if (v && typeof v === "object") {
    const out = {};
    for (const k of Object.keys(v)) out[k] = view(v[k]);
    return out;
  }
  return v;
}

function describe(channel, buf) {
  const msg = { channel, hex: buf.toString("hex") };
  if (buf[0] === 0x7b) {
    msg.encoding = "json";
    msg.text = buf.toString();
    const v = JSON.parse(msg.text);
    if (v.type === 6 && Array.isArray(v.data)) msg.data = v.data;
    return msg;
  }
  msg.encoding = "msgpack";
  const v = msgpack.decode(buf);
  msg.decoded = view(v);
  // broadcast [uid, packet, opts], request {packet: {data}}, ack {packet: value}
  if (Array.isArray(v) && v[1] && Array.isArray(v[1].data)) {
    msg.packet = socketIOForm(v[1].data);
  } else if (v && v.type === 7 && v.packet) {
    msg.packet = socketIOForm(v.packet.data);
  } else if (v && v.type === 9) {
    msg.packet = socketIOForm([v.packet]);
  }
  return msg;
}

async function main() {
  const redis = await startRedis();
  const clients = [];
  const newClient = async () => {
    const c = createClient({ url: redis.url });
    c.on("error", () => {});
    await c.connect();
    clients.push(c);
    return c;
  };

  let recorded = [];
  const spy = await newClient();
  await spy.pSubscribe("*", (message, channel) => {
    recorded.push(describe(channel.toString(), message));
  }, true);

  const servers = [];
  const ports = [];
  async function newServer(opts) {
    const pub = await newClient();
    const sub = await newClient();
    const io = new Server({ adapter: createAdapter(pub, sub, opts) });
    const port = await freePort();
    io.listen(port);
    servers.push(io);
    ports.push(port);
    return { io, port };
  }

  const a = await newServer();
  const b = await newServer();
  for (const { io } of [a, b]) {
    io.of("/chat");
    io.on("connection", (socket) => {
      const room = socket.handshake.query.room;
      if (room) socket.join(room);
    });
  }
  b.io.on("ping", (n, cb) => cb({ pong: n }));
  b.io.on("hello", () => {});

  const sockets = [];
  const connect = (port, room) =>
    new Promise((resolve) => {
      const s = connectClient(`http://127.0.0.1:${port}`, {
        transports: ["websocket"],
        query: { room },
        extraHeaders: { "x-capture": "1" },
      });
      s.on("ack-me", (n, cb) => cb({ ok: true, n: n + 0.5 }));
      s.on("connect", () => resolve(s));
      sockets.push(s);
    });
  const clientB = await connect(b.port, "room1");
  await connect(a.port, "room3");
  await sleep(200);

  const publisher = await newClient();
  const spyPublish = (channel, obj) => publisher.publish(channel, JSON.stringify(obj));

  const steps = [];
  async function step(name, op, fn) {
    await sleep(100);
    recorded = [];
    try {
      await fn();
    } catch (err) {
      console.error(name, JSON.stringify(recorded, null, 1));
      throw err;
    }
    await sleep(300);
    steps.push({ name, op, messages: recorded });
    recorded = [];
  }

  const ioA = a.io;
  const uid = ioA.of("/").adapter.uid;

  await step("emit", 'io.emit("hello", "world", 1)', () => ioA.emit("hello", "world", 1));
  await step("emit-room", 'io.to("room1").emit("hello", "to room1")', () =>
    ioA.to("room1").emit("hello", "to room1"));
  await step("emit-rooms-except", 'io.to(["room1", "room2"]).except("room3").emit("multi", {a: 1, b: [true, null]})', () =>
    ioA.to(["room1", "room2"]).except("room3").emit("multi", { a: 1, b: [true, null] }));
  await step("emit-integers", "io.emit(\"ints\", <integers at every msgpack size boundary>)", () =>
    ioA.emit("ints", 0, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, 9007199254740991,
      -1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, -9007199254740991));
  await step("emit-floats", 'io.emit("floats", 1.5, -0.25, 3.141592653589793, 1e-7, 2.5e-300, -0)', () =>
    ioA.emit("floats", 1.5, -0.25, 3.141592653589793, 1e-7, 2.5e-300, -0));
  // notepack writes integral numbers from 2^64 up as a truncated uint64
  await step("emit-beyond-uint64", 'io.emit("huge", 1e21, -1e21, 1.7976931348623157e308)', () =>
    ioA.emit("huge", 1e21, -1e21, 1.7976931348623157e308));
  await step("emit-strings", 'io.emit("strings", "", "é€😀", 31 bytes, 32 bytes, 255 bytes, 256 bytes)', () =>
    ioA.emit("strings", "", "é€😀\"\\\n\u0001", "x".repeat(31), "x".repeat(32), "y".repeat(255), "y".repeat(256)));
  await step("emit-containers", 'io.emit("containers", <arrays and maps of 15/16 entries, integer-like keys>)', () => {
    const arr15 = Array.from({ length: 15 }, (_, i) => i);
    const arr16 = Array.from({ length: 16 }, (_, i) => i);
    const map16 = {};
    for (let i = 0; i < 16; i++) map16["k" + i] = i;
    ioA.emit("containers", arr15, arr16, map16, { b: 1, 2: "two", 1: "one", a: [] }, {}, [[]]);
  });
  await step("emit-binary", 'io.emit("bin", Buffer[1,2,3], {nested: Buffer(300)}, [Buffer(0)])', () =>
    ioA.emit("bin", Buffer.from([1, 2, 3]), { nested: Buffer.alloc(300, 7) }, [Buffer.alloc(0)]));
  await step("emit-volatile", 'io.volatile.emit("v")', () => ioA.volatile.emit("v"));
  await step("emit-compress-false", 'io.compress(false).emit("c", 1)', () => ioA.compress(false).emit("c", 1));
  await step("emit-namespace", 'io.of("/chat").to("room1").emit("chat", "hi")', () =>
    ioA.of("/chat").to("room1").emit("chat", "hi"));
  await step("emit-date", 'io.emit("date", new Date(0), new Date(1700000000123))', () =>
    ioA.emit("date", new Date(0), new Date(1700000000123)));
  await step("broadcast-ack", 'await io.to("room1").timeout(1000).emitWithAck("ack-me", 42)', async () => {
    const replies = await ioA.to("room1").timeout(1000).emitWithAck("ack-me", 42);
    if (replies.length !== 1) throw new Error("expected one ack, got " + JSON.stringify(replies));
  });
  await step("sockets-join", 'io.in("room1").except("room3").socketsJoin(["room2", "room4"])', () =>
    ioA.in("room1").except("room3").socketsJoin(["room2", "room4"]));
  await step("sockets-leave", 'io.in("room2").socketsLeave("room4")', () => ioA.in("room2").socketsLeave("room4"));
  await step("disconnect-sockets", 'io.in("nobody").disconnectSockets()', () => ioA.in("nobody").disconnectSockets());
  await step("disconnect-sockets-close", 'io.in("nobody").except("room1").disconnectSockets(true)', () =>
    ioA.in("nobody").except("room1").disconnectSockets(true));
  await step("fetch-sockets", 'await io.in("room1").fetchSockets()', async () => {
    const found = await ioA.in("room1").fetchSockets();
    if (found.length !== 1) throw new Error("expected one socket");
  });
  await step("all-rooms", "await io.of(\"/\").adapter.allRooms()", async () => {
    await ioA.of("/").adapter.allRooms();
  });
  await step("server-side-emit", 'io.serverSideEmit("hello", "world", {x: 1})', () =>
    ioA.serverSideEmit("hello", "world", { x: 1 }));
  await step("server-side-emit-ack", 'await io.serverSideEmitWithAck("ping", 7)', async () => {
    const replies = await ioA.serverSideEmitWithAck("ping", 7);
    if (replies.length !== 1) throw new Error("expected one reply");
  });
  await step("legacy-sockets", 'PUBLISH socket.io-request#/# {"uid":"capture","requestId":"legacy","type":0,"rooms":["room1"]}', () =>
    spyPublish("socket.io-request#/#", { uid: "capture", requestId: "legacy", type: 0, rooms: ["room1"] }));
  await step("legacy-remote-join", "PUBLISH socket.io-request#/# {type: 2, requestId, sid, room}", () =>
    spyPublish("socket.io-request#/#", { requestId: "legacyjoin", type: 2, sid: clientB.id, room: "room5" }));

  // A second cluster with a key prefix and replies on the specific channel.
  const c = await newServer({ key: "custom", publishOnSpecificResponseChannel: true, requestsTimeout: 2000 });
  const d = await newServer({ key: "custom", publishOnSpecificResponseChannel: true, requestsTimeout: 2000 });
  d.io.on("connection", (socket) => socket.join("roomD"));
  await connect(d.port);
  await sleep(200);
  const uidC = c.io.of("/").adapter.uid;
  await step("specific-emit", 'io.to("roomD").emit("x") with key "custom"', () => c.io.to("roomD").emit("x"));
  await step("specific-all-rooms", "allRooms() with publishOnSpecificResponseChannel", async () => {
    await c.io.of("/").adapter.allRooms();
  });
  await step("specific-fetch-sockets", "fetchSockets() with publishOnSpecificResponseChannel", async () => {
    await c.io.fetchSockets();
  });

  // The emitter.
  const emitterClient = await newClient();
  const emitter = new Emitter(emitterClient);
  await step("emitter-emit", 'emitter.emit("hello", "world")', () => emitter.emit("hello", "world"));
  await step("emitter-room", 'emitter.to("room1").emit("hello", 1)', () => emitter.to("room1").emit("hello", 1));
  await step("emitter-flags", 'emitter.to(["room1", "room2"]).except("room3").volatile.compress(false).emit("x", 1.5, Buffer[4,5])', () =>
    emitter.to(["room1", "room2"]).except("room3").volatile.compress(false).emit("x", 1.5, Buffer.from([4, 5])));
  await step("emitter-namespace", 'emitter.of("/chat").emit("chat", {a: "b"})', () =>
    emitter.of("/chat").emit("chat", { a: "b" }));
  await step("emitter-namespace-noslash", 'emitter.of("chat").to("room1").emit("chat")', () =>
    emitter.of("chat").to("room1").emit("chat"));
  await step("emitter-sockets-join", 'emitter.in("room1").except("room3").socketsJoin("room9")', () =>
    emitter.in("room1").except("room3").socketsJoin("room9"));
  await step("emitter-sockets-leave", 'emitter.in("room1").socketsLeave(["room9", "room8"])', () =>
    emitter.in("room1").socketsLeave(["room9", "room8"]));
  await step("emitter-disconnect", 'emitter.in("nobody").disconnectSockets()', () =>
    emitter.in("nobody").disconnectSockets());
  await step("emitter-disconnect-close", 'emitter.in("nobody").disconnectSockets(true)', () =>
    emitter.in("nobody").disconnectSockets(true));
  await step("emitter-server-side-emit", 'emitter.serverSideEmit("hello", "world", 2)', () =>
    emitter.serverSideEmit("hello", "world", 2));

  const out = {
    comment: "Messages published by the official Node packages, recorded by testdata/capture/capture.js.",
    packages: versions(["@socket.io/redis-adapter", "@socket.io/redis-emitter", "socket.io", "notepack.io", "redis"]),
    uid,
    customUid: uidC,
    clientId: clientB.id,
    steps,
  };
  const file = path.join(__dirname, "..", "classic.json");
  fs.writeFileSync(file, JSON.stringify(out, null, 1) + "\n");
  console.log(`wrote ${steps.length} steps, ${steps.reduce((n, s) => n + s.messages.length, 0)} messages to ${file}`);

  await captureSharded(redis.url, newClient, connect, servers, ports);

  for (const s of sockets) s.close();
  for (const io of servers) await new Promise((r) => io.close(() => r()));
  for (const cl of clients) await cl.quit().catch(() => {});
  redis.proc.kill();
}

async function captureSharded(url, newClient, connect, servers, ports) {
  const make = async () => {
    const pub = await newClient();
    const sub = await newClient();
    const io = new Server({ adapter: createShardedAdapter(pub, sub) });
    const port = await freePort();
    io.listen(port);
    servers.push(io);
    ports.push(port);
    io.on("connection", (socket) => {
      const room = socket.handshake.query.room;
      if (room) socket.join(room);
    });
    io.of("/chat");
    return { io, port };
  };
  const a = await make();
  const b = await make();
  b.io.on("ping", (n, cb) => cb({ pong: n }));
  b.io.on("hello", () => {});
  const clientB = await connect(b.port, "room1");
  await connect(a.port, "room3");
  const ioA = a.io;
  const uidA = ioA.of("/").adapter.uid;
  const uidB = b.io.of("/").adapter.uid;

  let recorded = [];
  const spy = await newClient();
  const channels = ["socket.io#/#", "socket.io#/#room1#", "socket.io#/chat#", "socket.io#/chat#room1#",
    `socket.io#/#${uidA}#`, `socket.io#/#${uidB}#`];
  await spy.sSubscribe(channels, (message, channel) => recorded.push(describe(channel.toString(), message)), true);
  await sleep(200);

  // The spy's SSUBSCRIBE to the main channel counts as one more server in
  // SHARDNUMSUB: operations that wait for every server time out, which
  // does not change what they publish.
  const steps = [];
  async function step(name, op, fn) {
    await sleep(100);
    recorded = [];
    try {
      await fn();
    } catch (err) {
      if (!/time/.test(String(err && err.message))) throw err;
    }
    await sleep(300);
    steps.push({ name, op, messages: recorded });
    recorded = [];
  }
  await step("emit", 'io.emit("hello", "world", 1)', () => ioA.emit("hello", "world", 1));
  await step("emit-room", 'io.to("room1").emit("hello", {a: [1.5, null]})', () => ioA.to("room1").emit("hello", { a: [1.5, null] }));
  await step("emit-rooms-except", 'io.to(["room1", "room2"]).except("room3").volatile.emit("multi")', () =>
    ioA.to(["room1", "room2"]).except("room3").volatile.emit("multi"));
  await step("emit-socket-id", "io.to(<socket id>).emit(\"direct\")", () => ioA.to(clientB.id).emit("direct"));
  await step("emit-binary", 'io.emit("bin", Buffer[1,2,3], {x: 1})', () => ioA.emit("bin", Buffer.from([1, 2, 3]), { x: 1 }));
  await step("emit-namespace", 'io.of("/chat").emit("chat", "hi")', () => ioA.of("/chat").emit("chat", "hi"));
  await step("broadcast-ack", 'await io.to("room1").timeout(1000).emitWithAck("ack-me", 42)', async () => {
    await ioA.to("room1").timeout(1000).emitWithAck("ack-me", 42);
  });
  await step("sockets-join", 'io.in("room1").except("room3").socketsJoin(["room2", "room4"])', () =>
    ioA.in("room1").except("room3").socketsJoin(["room2", "room4"]));
  await step("sockets-leave", 'io.in("room2").socketsLeave("room4")', () => ioA.in("room2").socketsLeave("room4"));
  await step("disconnect-sockets", 'io.in("nobody").disconnectSockets(true)', () => ioA.in("nobody").disconnectSockets(true));
  await step("fetch-sockets", 'await io.in("room1").timeout(1000).fetchSockets()', async () => {
    await ioA.in("room1").timeout(1000).fetchSockets();
  });
  await step("server-side-emit", 'io.serverSideEmit("hello", "world", Buffer[7])', () =>
    ioA.serverSideEmit("hello", "world", Buffer.from([7])));
  await step("server-side-emit-ack", 'await io.serverSideEmitWithAck("ping", 7)', async () => {
    await ioA.serverSideEmitWithAck("ping", 7);
  });
  const out = {
    comment: "Messages published by the sharded adapter of @socket.io/redis-adapter, recorded by testdata/capture/capture.js.",
    uid: uidA,
    peerUid: uidB,
    clientId: clientB.id,
    steps,
  };
  const file = path.join(__dirname, "..", "sharded.json");
  fs.writeFileSync(file, JSON.stringify(out, null, 1) + "\n");
  console.log(`wrote ${steps.length} steps, ${steps.reduce((n, s) => n + s.messages.length, 0)} messages to ${file}`);
  await spy.quit().catch(() => {});
}

function versions(names) {
  const out = {};
  for (const n of names) {
    out[n] = require(path.join(__dirname, "node_modules", n, "package.json")).version;
  }
  return out;
}

// The Redis Streams adapter: two servers with connection state recovery.
async function captureStreams() {
  const { createAdapter: createStreamsAdapter } = require("@socket.io/redis-streams-adapter");
  const redis = await startRedis();
  const clients = [];
  const newClient = async () => {
    const c = createClient({ url: redis.url });
    c.on("error", () => {});
    await c.connect();
    clients.push(c);
    return c;
  };
  let recorded = [];
  const spy = await newClient();
  const listener = await newClient();
  await listener.pSubscribe("*", (message, channel) => {
    recorded.push({ channel: channel.toString(), hex: message.toString("hex"), decoded: view(msgpack.decode(message)) });
  }, true);

  const servers = [];
  const make = async () => {
    const client = await newClient();
    const io = new Server({
      adapter: createStreamsAdapter(client),
      connectionStateRecovery: { maxDisconnectionDuration: 60000 },
    });
    const port = await freePort();
    io.listen(port);
    servers.push(io);
    io.on("connection", (socket) => {
      const room = socket.handshake.query.room;
      if (room) socket.join(room);
      socket.data = { user: "ada", n: 1, tags: ["x"] };
    });
    io.of("/chat");
    return { io, port };
  };
  const a = await make();
  const b = await make();
  b.io.on("ping", (n, cb) => cb({ pong: n }));
  b.io.on("hello", () => {});
  const sockets = [];
  const connect = (port, room) =>
    new Promise((resolve) => {
      const s = connectClient(`http://127.0.0.1:${port}`, { transports: ["websocket"], query: { room }, reconnection: false });
      s.on("ack-me", (n, cb) => cb({ ok: true, n: n + 0.5 }));
      s.on("connect", () => resolve(s));
      sockets.push(s);
    });
  const clientB = await connect(b.port, "room1");
  const clientA = await connect(a.port, "room3");
  await sleep(300);

  const stream = "socket.io";
  let lastId = "0-0";
  const newEntries = async () => {
    const entries = await spy.xRange(stream, "(" + lastId, "+");
    if (entries.length) lastId = entries[entries.length - 1].id;
    return entries.map((e) => ({ id: e.id, fields: { ...e.message } }));
  };
  const steps = [];
  async function step(name, op, fn) {
    await sleep(100);
    await newEntries();
    recorded = [];
    await fn();
    await sleep(300);
    steps.push({ name, op, entries: await newEntries(), messages: recorded });
    recorded = [];
  }
  const ioA = a.io;
  await step("emit", 'io.emit("hello", "world", 1)', () => ioA.emit("hello", "world", 1));
  await step("emit-room", 'io.to("room1").emit("hello", {a: [1.5, null]})', () => ioA.to("room1").emit("hello", { a: [1.5, null] }));
  await step("emit-rooms-except", 'io.to(["room1", "room2"]).except("room3").emit("multi")', () =>
    ioA.to(["room1", "room2"]).except("room3").emit("multi"));
  await step("emit-volatile", 'io.volatile.emit("v", 1)', () => ioA.volatile.emit("v", 1));
  await step("emit-compress-false", 'io.compress(false).emit("c", 1)', () => ioA.compress(false).emit("c", 1));
  await step("emit-binary", 'io.emit("bin", Buffer[1,2,3], {x: 1})', () => ioA.emit("bin", Buffer.from([1, 2, 3]), { x: 1 }));
  await step("emit-namespace", 'io.of("/chat").emit("chat", "hi")', () => ioA.of("/chat").emit("chat", "hi"));
  await step("broadcast-ack", 'await io.to("room1").timeout(1000).emitWithAck("ack-me", 42)', async () => {
    const replies = await ioA.to("room1").timeout(1000).emitWithAck("ack-me", 42);
    if (replies.length !== 1) throw new Error("expected one ack");
  });
  await step("sockets-join", 'io.in("room1").except("room3").socketsJoin(["room2", "room4"])', () =>
    ioA.in("room1").except("room3").socketsJoin(["room2", "room4"]));
  await step("sockets-leave", 'io.in("room2").socketsLeave("room4")', () => ioA.in("room2").socketsLeave("room4"));
  await step("disconnect-sockets", 'io.in("nobody").disconnectSockets(true)', () => ioA.in("nobody").disconnectSockets(true));
  await step("fetch-sockets", 'await io.in("room1").fetchSockets()', async () => {
    const found = await ioA.in("room1").fetchSockets();
    if (found.length !== 1) throw new Error("expected one socket");
  });
  await step("server-side-emit", 'io.serverSideEmit("hello", "world", {x: 1})', () => ioA.serverSideEmit("hello", "world", { x: 1 }));
  await step("server-side-emit-binary", 'io.serverSideEmit("hello", Buffer[7])', () => ioA.serverSideEmit("hello", Buffer.from([7])));
  await step("server-side-emit-ack", 'await io.serverSideEmitWithAck("ping", 7)', async () => {
    const replies = await ioA.serverSideEmitWithAck("ping", 7);
    if (replies.length !== 1) throw new Error("expected one reply");
  });

  // A session persisted when the connection of clientA (room3, with data) is lost.
  const pid = clientA._pid;
  const offset = clientA._lastOffset;
  const sid = clientA.id;
  clientA.io.engine.close();
  await sleep(300);
  const value = await spy.get("sio:session:" + pid);
  const ttl = await spy.pTTL("sio:session:" + pid);
  const session = { key: "sio:session:" + pid, value, decoded: view(msgpack.decode(Buffer.from(value, "base64"))), pid, sid, offset, ttlAtMost: 60000, ttlSeen: ttl };

  const out = {
    comment: "Stream entries and messages of @socket.io/redis-streams-adapter, recorded by testdata/capture/capture.js streams.",
    packages: versions(["@socket.io/redis-streams-adapter", "@msgpack/msgpack", "socket.io-adapter", "socket.io", "redis"]),
    uid: ioA.of("/").adapter.uid,
    chatUid: ioA.of("/chat").adapter.uid,
    peerUid: b.io.of("/").adapter.uid,
    clientId: clientB.id,
    steps,
    session,
  };
  const file = path.join(__dirname, "..", "streams.json");
  fs.writeFileSync(file, JSON.stringify(out, null, 1) + "\n");
  console.log(`wrote ${steps.length} steps to ${file}`);
  for (const s of sockets) s.close();
  for (const io of servers) await new Promise((r) => io.close(() => r()));
  for (const cl of clients) await cl.quit().catch(() => {});
  redis.proc.kill();
}

(process.argv[2] === "streams" ? captureStreams() : main()).catch((err) => {
  console.error(err);
  if (redisProc) redisProc.kill();
  process.exit(1);
});
