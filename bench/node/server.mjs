// Reference server for the side-by-side benchmark: the official socket.io
// package with default options (plus perMessageDeflate: false), serving the
// same contract as the Go benchmark server.
//
//   "echo" with an ack  -> ack with the same arguments
//   "bcast"             -> "bcast" with the same arguments to every other socket
//
// It listens on 127.0.0.1:$PORT (default 3000).
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number.parseInt(process.env.PORT || "3000", 10);

const httpServer = createServer();
const io = new Server(httpServer, { perMessageDeflate: false });

io.on("connection", (socket) => {
  socket.on("echo", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") {
      ack(...args);
    }
  });
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
