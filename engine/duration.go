package engine

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads a duration as rule files write them: Go's units (90s,
// 30m, 1h30m) and days (1d, 7d, 1d12h), which cooldowns are often counted
// in. It must be positive.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	var days time.Duration
	if i := strings.IndexByte(in, 'd'); i > 0 {
		n, err := strconv.Atoi(in[:i])
		if err != nil || n < 0 || n > 3650 {
			return 0, durationError(s)
		}
		days, in = time.Duration(n)*24*time.Hour, in[i+1:]
	}
	var rest time.Duration
	if in != "" || days == 0 {
		var err error
		if rest, err = time.ParseDuration(in); err != nil {
			return 0, durationError(s)
		}
	}
	d := days + rest
	if d <= 0 {
		return 0, fmt.Errorf("duration %q: want more than zero, e.g. 30m, 1h or 1d", s)
	}
	return d, nil
}

func durationError(s string) error {
	return fmt.Errorf("%q is not a duration: write a number and a unit, e.g. 90s, 30m, 1h30m or 1d", s)
}

// FormatDuration writes d the way ParseDuration reads it, without zero
// units: 1h, not 1h0m0s; 1d, not 24h0m0s. Durations that are not whole
// seconds are written as Go writes them.
func FormatDuration(d time.Duration) string {
	if d <= 0 || d%time.Second != 0 {
		return d.String()
	}
	var b strings.Builder
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.unit
		}
	}
	return b.String()
}
