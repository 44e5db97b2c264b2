package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestErrorReply(t *testing.T) {
	cause := errors.New("pq: relation main.users does not exist")
	for _, c := range []struct {
		err  error
		want string
	}{
		{&Error{Code: CodeInvalidArgument, Message: "bad room"}, `{"error":{"code":"invalid_argument","message":"bad room"}}`},
		{fmt.Errorf("wrapped: %w", &Error{Code: "full", Message: "room full", Data: map[string][]byte{"b": {1}}, Err: cause}),
			`{"error":{"code":"full","message":"room full","data":{"b":{"_placeholder":true,"num":0}}}}`},
		{cause, `{"error":{"code":"internal","message":"internal error"}}`},
	} {
		data, _, err := MarshalArgs([]any{ErrorReply(c.err)})
		noError(t, err)
		equal(t, c.err.Error(), string(data), "["+c.want+"]")
		if strings.Contains(string(data), "main.") {
			t.Errorf("%s leaks the cause", data)
		}
	}
	e := &Error{Code: CodeRateLimited, Message: "slow down", Err: cause}
	equal(t, "Error()", e.Error(), "rate_limited: slow down: "+cause.Error())
	equal(t, "Is the cause", errors.Is(e, cause), true)
	equal(t, "CodeOf", CodeOf(fmt.Errorf("x: %w", e)), CodeRateLimited)
	equal(t, "CodeOf other", CodeOf(cause), ErrorCode(""))
}

func TestReplyError(t *testing.T) {
	for _, c := range []struct {
		reply string
		want  *Error
	}{
		{`[{"error":{"code":"full","message":"room full","data":{"n":1}}}]`, &Error{Code: "full", Message: "room full", Data: map[string]any{"n": 1.0}}},
		{`[ { "error" : { "code" : "x" } } , 2]`, &Error{Code: "x"}},
		{`[{"error":{"code":"x"},"other":1}]`, nil}, // a result that has an error field
		{`[{"error":"text"}]`, nil},
		{`[{"error":{"message":"no code"}}]`, nil},
		{`[{"ok":true}]`, nil},
		{`["error"]`, nil},
		{`[]`, nil},
	} {
		a, err := ArgsFromArray([]byte(c.reply), nil)
		noError(t, err)
		got := ReplyError(a)
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(c.want)
		equal(t, c.reply, string(gj), string(wj))
	}
}
