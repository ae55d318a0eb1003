package engine

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{in: "90s", want: 90 * time.Second},
		{in: "30m", want: 30 * time.Minute},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "1d", want: 24 * time.Hour},
		{in: " 7d ", want: 7 * 24 * time.Hour},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "0s", err: "want more than zero"},
		{in: "-5m", err: "want more than zero"},
		{in: "60", err: `"60" is not a duration: write a number and a unit`},
		{in: "1 hour", err: "is not a duration"},
		{in: "d", err: "is not a duration"},
		{in: "xd", err: "is not a duration"},
		{in: "", err: "is not a duration"},
	} {
		got, err := ParseDuration(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseDuration(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour:                       "1h",
		90 * time.Minute:                "1h30m",
		30 * time.Minute:                "30m",
		24 * time.Hour:                  "1d",
		36*time.Hour + time.Second:      "1d12h1s",
		1500 * time.Millisecond:         "1.5s",
		10 * time.Hour:                  "10h",
		10*time.Minute + 10*time.Second: "10m10s",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
		if d%time.Second == 0 {
			if back, err := ParseDuration(FormatDuration(d)); err != nil || back != d {
				t.Errorf("ParseDuration(FormatDuration(%v)) = %v, %v", d, back, err)
			}
		}
	}
}
