// Reference server for the side-by-side benchmark: the official socket.io
// package with default options (plus perMessageDeflate: false), serving the
// same contract as the Go benchmark server.
//
//   "echo" with an ack  -> ack with the same arguments
//   "echo-typed"        -> the same (the Go server decodes it into a struct)
//   "bcast"             -> "bcast" with the same arguments to every other socket
//
// It listens on 127.0.0.1:$PORT (default 3000). With $REDIS_URL (e.g.
// redis://127.0.0.1:6390) it joins a cluster through the official Redis
// adapter (@socket.io/redis-adapter with the redis client): "bcast" then
// reaches every other socket of every server on that Redis. With
// PARSER=msgpack it speaks socket.io-msgpack-parser's format.
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number.parseInt(process.env.PORT || "3000", 10);

const options = { perMessageDeflate: false };
if (process.env.REDIS_URL) {
  const { createClient } = await import("redis");
  const { createAdapter } = await import("@socket.io/redis-adapter");
  const pub = createClient({ url: process.env.REDIS_URL });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) {
    c.on("error", (err) => {
      console.error("redis:", err.message);
      process.exit(1);
    });
  }
  await Promise.all([pub.connect(), sub.connect()]);
  options.adapter = createAdapter(pub, sub);
}

if (process.env.PARSER === "msgpack") {
  options.parser = (await import("socket.io-msgpack-parser")).default;
} else if (process.env.PARSER) {
  console.error(`unknown PARSER ${process.env.PARSER}`);
  process.exit(1);
}

const httpServer = createServer();
const io = new Server(httpServer, options);

io.on("connection", (socket) => {
  const echo = (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") {
      ack(...args);
    }
  };
  socket.on("echo", echo);
  socket.on("echo-typed", echo);
  socket.on("bcast", (...args) => {
    if (typeof args[args.length - 1] === "function") {
      args.pop();
    }
    socket.broadcast.emit("bcast", ...args);
  });
});

httpServer.listen(port, "127.0.0.1", () => {
  console.log(`listening on 127.0.0.1:${port}`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => process.exit(0));
}
