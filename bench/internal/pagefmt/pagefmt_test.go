package pagefmt

import (
	"math"
	"testing"
)

func TestNum(t *testing.T) {
	cases := []struct {
		v      float64
		digits int
		want   string
	}{
		{1234567.8, 0, "1,234,568"},
		{13.54, 0, "13.5"},
		{4.5, 0, "4.50"},
		{-2048, 0, "-2,048"},
		{0, 0, "0"},
		{999.5, 1, "999.5"},
		{math.NaN(), 2, "—"},
	}
	for _, c := range cases {
		if got := Num(c.v, c.digits); got != c.want {
			t.Errorf("Num(%v, %d) = %q, want %q", c.v, c.digits, got, c.want)
		}
	}
}

func TestFixed(t *testing.T) {
	cases := []struct {
		v      float64
		digits int
		want   string
	}{
		{10, 0, "10"},
		{9.5, 0, "10"},
		{100000, 0, "100,000"},
		{-1234.567, 2, "-1,234.57"},
		{0.0284, 3, "0.028"},
		{math.Inf(1), 0, "—"},
	}
	for _, c := range cases {
		if got := Fixed(c.v, c.digits); got != c.want {
			t.Errorf("Fixed(%v, %d) = %q, want %q", c.v, c.digits, got, c.want)
		}
	}
}

func TestWords(t *testing.T) {
	if got := Capital(NumberWord(6)); got != "Six" {
		t.Errorf("Capital(NumberWord(6)) = %q", got)
	}
	if got := NumberWord(12); got != "12" {
		t.Errorf("NumberWord(12) = %q", got)
	}
	if got := Ratio(0.5049); got != "0.50" {
		t.Errorf("Ratio(0.5049) = %q", got)
	}
	if got := Ratio(math.NaN()); got != "—" {
		t.Errorf("Ratio(NaN) = %q", got)
	}
}
