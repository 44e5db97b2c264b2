// Package pagefmt writes numbers and words the same way on every page the
// benchmark tools generate.
package pagefmt

import (
	"math"
	"strconv"
	"strings"
)

// Num prints v with digits decimals (digits 0 picks them from the
// magnitude: none from 100 up, one from 10, two below) and thousands
// separators; NaN and infinities print as a dash.
func Num(v float64, digits int) string {
	if digits == 0 {
		switch a := math.Abs(v); {
		case a == 0 || a >= 100:
			digits = 0
		case a >= 10:
			digits = 1
		default:
			digits = 2
		}
	}
	return Fixed(v, digits)
}

// Fixed prints v with exactly digits decimals and thousands separators;
// NaN and infinities print as a dash.
func Fixed(v float64, digits int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	s := strconv.FormatFloat(v, 'f', digits, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var g strings.Builder
	if neg {
		g.WriteByte('-')
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			g.WriteByte(',')
		}
		g.WriteRune(c)
	}
	if hasFrac {
		g.WriteString("." + frac)
	}
	return g.String()
}

// Ratio prints v with two decimals; NaN and infinities print as a dash.
func Ratio(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// NumberWord spells n from zero to ten, and prints it in digits above.
func NumberWord(n int) string {
	if w := []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"}; n >= 0 && n < len(w) {
		return w[n]
	}
	return strconv.Itoa(n)
}

// Capital returns s with its first letter in upper case, for a sentence
// that starts with it.
func Capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
