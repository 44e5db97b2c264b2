package interop

import (
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/admin"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
	"github.com/sio-go/socketio/redisadapter"
)

// uiScript helpers, run in the page before each step: wait polls a
// condition, byLabel finds an input by its label's text, set types into a
// Vue-bound input.
const uiHelpers = `
const wait = (f, what, ms = 15000) => new Promise((resolve, reject) => {
	const t0 = Date.now();
	const tick = () => {
		let v;
		try { v = f(); } catch (e) {}
		if (v) return resolve(v);
		if (Date.now() - t0 > ms) return reject(new Error("timed out waiting for " + what + "; page: " + document.body.innerText.slice(0, 2000)));
		setTimeout(tick, 50);
	};
	tick();
});
const byLabel = (text) => {
	for (const l of document.querySelectorAll("label")) {
		if (l.textContent.trim() === text && l.getAttribute("for")) return document.getElementById(l.getAttribute("for"));
	}
	return null;
};
const set = (el, v) => { el.focus(); el.value = v; el.dispatchEvent(new Event("input", { bubbles: true })); };
`

// TestAdminUIBrowser runs the official Admin UI (the static build shipped
// in @socket.io/admin-ui) in Chromium against a cluster of two Go servers
// and an instrumented Node server on one Redis: it logs in, sees the
// sockets and the servers of all three, makes a socket of the other Go
// server join a room, and disconnects the Node server's socket.
func TestAdminUIBrowser(t *testing.T) {
	root, err := nodeproc.Root()
	if err != nil {
		t.Fatal(err)
	}
	uiDir := filepath.Join(root, "node_modules/@socket.io/admin-ui/ui/dist")
	addr := startRedis(t)
	hash := adminHash(t)

	// go-1 serves the UI beside the server, so that the page and the
	// admin namespace share an origin.
	srv1 := socketio.NewServer(&socketio.Config{Adapter: redisadapter.New(redisAdapter(t, addr), nil)})
	if _, err := admin.Instrument(srv1, admin.Config{
		Auth: &admin.BasicAuth{Username: "admin", PasswordHash: hash}, ServerID: "go-1"}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ui/", http.StripPrefix("/ui/", http.FileServer(http.Dir(uiDir))))
	mux.Handle("/socket.io/", srv1)
	hs := serveGo(t, srv1, mux, nil)
	srv2, go2 := startAdminGo(t, hash, "go-2", redisadapter.New(redisAdapter(t, addr), nil))
	p := nodeproc.Start(t, "admin.mjs")
	nodeURL := p.Call(nodeproc.M{"cmd": "startServer", "hash": hash, "serverId": "node-1",
		"redisUrl": "redis://" + addr}).Str("url")
	ids := map[string]string{}
	for name, url := range map[string]string{"c1": hs.URL, "c2": go2, "c3": nodeURL} {
		ids[name] = p.Call(nodeproc.M{"cmd": "client", "name": name, "url": url}).Str("id")
	}

	b := nodeproc.Start(t, "browser.mjs")
	b.Call(nodeproc.M{"cmd": "goto", "url": hs.URL + "/ui/"})
	b.Call(nodeproc.M{"cmd": "run", "code": `localStorage.setItem("lang", "en");
		localStorage.setItem("server_url", location.origin); return true;`})
	b.Call(nodeproc.M{"cmd": "goto", "url": hs.URL + "/ui/?reload=1#/"}) // a new page: the store reads localStorage

	// log in
	run := func(what, code string) nodeproc.Event {
		t.Helper()
		ev := b.Call(nodeproc.M{"cmd": "run", "code": uiHelpers + code})
		if ev.Type != "done" {
			t.Fatalf("%s: %s\n%s", what, ev, b.Log())
		}
		return ev
	}
	run("login", `
		const user = await wait(() => byLabel("Username"), "the login form");
		set(byLabel("Server URL"), location.origin);
		set(user, "admin");
		set(byLabel("Password"), "`+adminPassword+`");
		await new Promise((r) => setTimeout(r, 100));
		const btn = [...document.querySelectorAll("button")].find((b) => b.textContent.trim() === "Connect");
		btn.click();
		await wait(() => /Status:\s*CONNECTED/.test(document.body.innerText), "the connected status");
		return true;`)

	// every server's sockets and statistics
	run("sockets", `location.hash = "#/sockets/";
		await wait(() => `+jsIncludesAll(ids["c1"], ids["c2"], ids["c3"])+`, "the sockets of the three servers");
		return true;`)
	run("servers", `location.hash = "#/servers/";
		await wait(() => `+jsIncludesAll("go-1", "go-2", "node-1")+`, "the three servers");
		return true;`)

	// join a room from the UI: the socket is on the other Go server
	run("join", `location.hash = "#/n/%2F/sockets/`+ids["c2"]+`";
		const input = await wait(() => byLabel("Join a room"), "the join form");
		set(input, "vip");
		await new Promise((r) => setTimeout(r, 100));
		input.closest("form").querySelector("button[type=submit]").click();
		await wait(() => document.body.innerText.includes("vip"), "the room in the socket's rooms");
		return true;`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var rooms []string
		for _, n := range srv2.Of("/").Sockets() {
			if n.ID() == ids["c2"] {
				rooms = n.Rooms()
			}
		}
		if slices.Contains(rooms, "vip") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the socket on go-2 is in %v, not vip", rooms)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// disconnect the Node server's socket from its page
	run("disconnect", `location.hash = "#/sockets/";
		await wait(() => document.body.innerText.includes("`+ids["c3"]+`"), "the sockets list");
		location.hash = "#/n/%2F/sockets/`+ids["c3"]+`";
		await wait(() => document.body.innerText.includes("Socket details") &&
			document.body.innerText.includes("`+ids["c3"]+`") && !document.body.innerText.includes("`+ids["c2"]+`"), "the socket's page");
		const btn = await wait(() => [...document.querySelectorAll("button")].find((b) => b.querySelector(".mdi-logout") && !b.disabled), "a disconnect button");
		btn.click();
		return true;`)
	if ev := p.Wait(func(e nodeproc.Event) bool { return e.Type == "disconnect" && e.Str("name") == "c3" }); ev.Str("reason") != "io server disconnect" {
		t.Fatalf("c3: %s", ev)
	}
}

// jsIncludesAll is a page expression true once the page shows every text.
func jsIncludesAll(texts ...string) string {
	expr := "true"
	for _, s := range texts {
		expr += " && document.body.innerText.includes(" + strconv.Quote(s) + ")"
	}
	return "(" + expr + ")"
}
