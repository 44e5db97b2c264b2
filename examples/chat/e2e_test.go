package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// clientDir is where `npm ci` in this folder puts the official browser
// client; scripts/setup.sh runs it.
const clientDir = "node_modules/socket.io-client/dist"

// artifactDir keeps the screenshots of the browser test (git-ignored).
const artifactDir = "../../artifacts"

// browserPath finds Chromium: $CHROME, else chromium or google-chrome on the
// PATH. The test fails when there is none: scripts/setup.sh installs it.
func browserPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROME"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium found: run scripts/setup.sh (installs Debian's chromium) or set CHROME")
	return ""
}

// page is one browser tab showing the chat.
type page struct {
	t    *testing.T
	name string
	ctx  context.Context
}

func (p *page) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v\n%s", p.name, err, p.describe())
	}
}

// wait polls a JavaScript expression until it is true.
func (p *page) wait(what, expr string) {
	p.t.Helper()
	_, err := chromedp.Run(p.ctx, chromedp.Poll[bool](expr,
		chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		p.t.Fatalf("%s: waiting for %s: %v\n%s", p.name, what, err, p.describe())
	}
}

func (p *page) eval(expr string, out any) {
	p.t.Helper()
	raw, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]byte](expr))
	if err == nil {
		err = json.Unmarshal(raw, out)
	}
	if err != nil {
		p.t.Fatalf("%s: evaluating %s: %v", p.name, expr, err)
	}
}

// describe returns what the page shows, for failure messages.
func (p *page) describe() string {
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({
		status: document.querySelector("#status").textContent,
		banner: document.querySelector("#banner").textContent,
		online: document.querySelector("#online").textContent,
		typing: document.querySelector("#typing").textContent,
		messages: [...document.querySelectorAll("#messages li")].map(e => e.textContent),
	}, null, 1)`))
	if err != nil {
		return "(page state unavailable: " + err.Error() + ")"
	}
	return p.name + " shows " + s
}

// hasMessage is a JavaScript expression true when the page shows a message
// from nick with text (and, when cls is set, that CSS class).
func hasMessage(nick, text, cls string) string {
	return fmt.Sprintf(`[...document.querySelectorAll("#messages .msg%s")].some(e =>
		e.querySelector(".nick").textContent === %q && e.querySelector(".text").textContent === %q)`,
		cls, nick, text)
}

// delivered is true when the page's own message text shows the ✓ of its
// acknowledgement.
func delivered(text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll("#messages .msg.mine")].some(e =>
		e.querySelector(".text").textContent === %q && e.querySelector(".state.ok") !== null)`, text)
}

func (p *page) setNickAndJoin(nick, room string) {
	p.t.Helper()
	p.wait("connected", `document.querySelector("#status").dataset.state === "connected"`)
	p.do(chromedp.SendKeys(chromedp.CSS("#nick-input"), nick),
		chromedp.Click(chromedp.CSS("#nick-form button")))
	p.wait("nickname accepted", fmt.Sprintf(`document.querySelector("#me").textContent === %q`, "as "+nick))
	p.do(chromedp.SetValue(chromedp.CSS("#room-input"), room),
		chromedp.Click(chromedp.CSS("#join-form button")))
	p.wait("room joined", fmt.Sprintf(`document.querySelector("#room-title").textContent === %q`, "#"+room))
}

func (p *page) send(text string) {
	p.t.Helper()
	p.do(chromedp.SendKeys(chromedp.CSS("#text-input"), text),
		chromedp.Click(chromedp.CSS("#composer button")))
}

func (p *page) screenshot(file string) {
	p.t.Helper()
	buf, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("%s: screenshot: %v", p.name, err)
	}
	if err := os.MkdirAll(artifactDir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	path := filepath.Join(artifactDir, file)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("%s: screenshot in %s", p.name, path)
}

// emulateNetworkConditions is the protocol's Network.emulateNetworkConditions,
// which, unlike the rule-based command, also sets navigator.onLine.
var emulateNetworkConditions = cdp.Command[emulateParams, cdp.Empty]{Method: "Network.emulateNetworkConditions"}

type emulateParams struct {
	Offline            bool    `json:"offline"`
	Latency            float64 `json:"latency"`
	DownloadThroughput float64 `json:"downloadThroughput"`
	UploadThroughput   float64 `json:"uploadThroughput"`
}

// setOffline cuts the page's network, or gives it back.
func (p *page) setOffline(offline bool) {
	p.t.Helper()
	if _, err := chromedp.Call(p.ctx, network.Enable, network.EnableParams{}); err != nil {
		p.t.Fatalf("%s: network: %v", p.name, err)
	}
	if _, err := chromedp.Call(p.ctx, emulateNetworkConditions,
		emulateParams{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
		p.t.Fatalf("%s: network conditions: %v", p.name, err)
	}
}

// startChatServer runs the chat for a browser test.
func startChatServer(t *testing.T, o options) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(clientDir, "socket.io.min.js")); err != nil {
		t.Fatalf("the browser client is missing (%v): run `npm ci` in examples/chat (scripts/setup.sh does it)", err)
	}
	o.ClientDir = clientDir
	c, err := newChat(o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(c.handler)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Shutdown(ctx)
		hs.Close()
	})
	return hs.URL
}

// openPages starts a headless Chromium with a fresh profile and opens url in
// one tab per name. The browser ends with the test.
func openPages(t *testing.T, url string, names ...string) []*page {
	t.Helper()
	base, cancelBase := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancelBase)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(base,
		chromedp.ExecPath(browserPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 720),
	)
	t.Cleanup(cancelAlloc)
	var pages []*page
	parent := allocCtx
	for i, name := range names {
		// The first context starts the browser; the next ones are tabs of it.
		ctx, cancel := chromedp.NewContext(parent)
		t.Cleanup(cancel)
		if i == 0 {
			parent = ctx
		}
		p := &page{t: t, name: name + "'s page", ctx: ctx}
		p.do(chromedp.Navigate(url))
		pages = append(pages, p)
	}
	return pages
}

func TestBrowserChat(t *testing.T) {
	url := startChatServer(t, options{})
	pages := openPages(t, url, "alice", "bob")
	alice, bob := pages[0], pages[1]

	alice.setNickAndJoin("alice", "lobby")
	bob.setNickAndJoin("bob", "lobby")

	// Both see who is online.
	for _, p := range []*page{alice, bob} {
		p.wait("2 online", `document.querySelector("#online").textContent === "2 online: alice, bob"`)
		p.wait("room count in the list", `document.querySelector('#rooms li[data-room="lobby"] .count').textContent === "2 online"`)
	}
	// Typing shows on the other page, then messages go both ways.
	bob.do(chromedp.SendKeys(chromedp.CSS("#text-input"), "hi alice"))
	alice.wait("typing indicator", `document.querySelector("#typing").textContent === "bob is typing…"`)
	alice.screenshot("chat-typing.png")
	bob.do(chromedp.Click(chromedp.CSS("#composer button")))
	alice.wait("bob's message", hasMessage("bob", "hi alice", ""))
	bob.wait("bob's message delivered", delivered("hi alice"))
	alice.wait("typing indicator gone", `document.querySelector("#typing").textContent === ""`)

	alice.send("hello bob")
	bob.wait("alice's message", hasMessage("alice", "hello bob", ""))
	alice.wait("alice's message delivered", delivered("hello bob"))

	// Invalid input is answered with an error, not a crash.
	bob.do(chromedp.SetValue(chromedp.CSS("#room-input"), "No Spaces!"),
		chromedp.Click(chromedp.CSS("#join-form button")))
	bob.wait("room name refused", `document.querySelector("#join-error").textContent.includes("room name may hold")`)

	// Bob's network goes away: his page notices, alice keeps talking.
	bob.setOffline(true)
	bob.wait("offline state shown", `document.querySelector("#status").dataset.state !== "connected"`)
	alice.wait("bob gone from the room", `document.querySelector("#online").textContent === "1 online: alice"`)
	missed := []string{"are you there?", "you missed this", "and this"}
	for _, m := range missed {
		alice.send(m)
		alice.wait("delivered: "+m, delivered(m))
	}
	// Bob writes while offline: the client keeps it until it is back.
	bob.send("typed while offline")
	bob.wait("queued while offline", `[...document.querySelectorAll("#messages .msg.mine .state")].some(e => e.textContent === "queued")`)

	// Back online: the connection recovers and the missed messages arrive.
	bob.setOffline(false)
	bob.wait("connected again", `document.querySelector("#status").dataset.state === "connected"`)
	for _, m := range missed {
		bob.wait("missed message recovered: "+m, hasMessage("alice", m, ".missed"))
	}
	bob.wait("recovery banner", fmt.Sprintf(`document.querySelector("#banner").textContent === %q`,
		"Back online: connection recovered, "+strconv.Itoa(len(missed))+" missed messages delivered."))
	bob.wait("offline message delivered", delivered("typed while offline"))
	alice.wait("bob's offline message", hasMessage("bob", "typed while offline", ""))
	for _, p := range []*page{alice, bob} {
		p.wait("2 online again", `document.querySelector("#online").textContent === "2 online: alice, bob"`)
	}
	bob.send("back now")
	alice.wait("bob's last message", hasMessage("bob", "back now", ""))
	bob.wait("last message delivered", delivered("back now"))

	// Each page shows the whole conversation, in the order it saw it: bob
	// wrote his offline message before the missed ones reached him.
	const logJS = `[...document.querySelectorAll("#messages .msg")].map(e => e.querySelector(".nick").textContent + ": " + e.querySelector(".text").textContent)`
	for _, tc := range []struct {
		p    *page
		want []string
	}{
		{alice, []string{"bob: hi alice", "alice: hello bob", "alice: are you there?", "alice: you missed this",
			"alice: and this", "bob: typed while offline", "bob: back now"}},
		{bob, []string{"bob: hi alice", "alice: hello bob", "bob: typed while offline", "alice: are you there?",
			"alice: you missed this", "alice: and this", "bob: back now"}},
	} {
		var got []string
		tc.p.eval(logJS, &got)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s shows %q, want %q", tc.p.name, got, tc.want)
		}
	}
	alice.screenshot("chat-alice.png")
	bob.screenshot("chat-bob.png")
}

// A page that comes back after the recovery window joins its rooms again
// and tells the user the session was lost.
func TestBrowserReconnectWithoutRecovery(t *testing.T) {
	url := startChatServer(t, options{RecoveryWindow: 200 * time.Millisecond})
	carol := openPages(t, url, "carol")[0]
	carol.setNickAndJoin("carol", "lobby")
	carol.wait("online", `document.querySelector("#online").textContent === "1 online: carol"`)

	carol.setOffline(true)
	carol.wait("offline state shown", `document.querySelector("#status").dataset.state !== "connected"`)
	time.Sleep(500 * time.Millisecond) // past the recovery window
	carol.setOffline(false)
	carol.wait("connected again", `document.querySelector("#status").dataset.state === "connected"`)
	// The page sets its nickname and joins again, then says so.
	carol.wait("session lost banner", `document.querySelector("#banner").textContent ===
		"Reconnected too late to recover the session: rooms joined again, messages sent meanwhile were missed."`)
	carol.wait("online again", `document.querySelector("#online").textContent === "1 online: carol"`)
	carol.send("still works")
	carol.wait("delivered after rejoining", delivered("still works"))
	carol.screenshot("chat-rejoined.png")
}
