package engine

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// DescribeState words a user's state as explain, rule tests and the admin
// page show it: the session values that are set, as name="value", and the
// rules still cooling down at now, as "rule (for 20m more)"; each sorted.
func DescribeState(session map[string]string, cooldowns map[string]time.Time, now time.Time) (set, cooling []string) {
	for _, name := range slices.Sorted(maps.Keys(session)) {
		if v := session[name]; v != "" {
			set = append(set, fmt.Sprintf("%s=%q", name, v))
		}
	}
	for _, rule := range slices.Sorted(maps.Keys(cooldowns)) {
		if until := cooldowns[rule]; now.Before(until) {
			cooling = append(cooling, fmt.Sprintf("%s (for %s more)", rule, FormatDuration(until.Sub(now).Round(time.Second))))
		}
	}
	return set, cooling
}

// Describe words what the change does to the user's state, one effect a
// line: sets name="value", unsets name, does not answer this user again
// for 1h. Nil for no change.
func (c *StateChange) Describe() []string {
	if c == nil {
		return nil
	}
	var out []string
	for _, name := range slices.Sorted(maps.Keys(c.Set)) {
		out = append(out, fmt.Sprintf("sets %s=%q", name, c.Set[name]))
	}
	for _, name := range c.Unset {
		if _, set := c.Set[name]; !set {
			out = append(out, "unsets "+name)
		}
	}
	if c.Cooldown > 0 {
		out = append(out, "does not answer this user again for "+FormatDuration(c.Cooldown))
	}
	return out
}
