// Package interop tests the project against the official npm packages:
// engine.io-client and socket.io-client drive our servers, and the official
// servers check our clients and the drivers themselves. Run scripts/setup.sh
// at the repository root once to install them.
package interop

import (
	"testing"

	"github.com/sio-go/socketio/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }
