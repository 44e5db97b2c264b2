package sioclient

import (
	"fmt"
	"math"
	"testing"
)

func TestRandomizationFactor(t *testing.T) {
	for _, tc := range []struct {
		in   *float64
		want float64
	}{
		{nil, 0.5},
		{new(0.0), 0},
		{new(0.2), 0.2},
		{new(-1.0), 0},
		{new(3.0), 1},
		{new(math.NaN()), 0},
	} {
		cfg := &Config{RandomizationFactor: tc.in}
		got := *cfg.withDefaults().RandomizationFactor
		if got != tc.want {
			t.Errorf("RandomizationFactor %s: jitter %v, want %v", show(tc.in), got, tc.want)
		}
		if tc.in != nil && cfg.withDefaults().RandomizationFactor == tc.in {
			t.Errorf("the caller's variable is shared")
		}
	}
}

func show(f *float64) string {
	if f == nil {
		return "nil"
	}
	return fmt.Sprint(*f)
}
