package store

import (
	"time"

	"github.com/wxreply/wxreply/engine"
)

// ChangeOf is what decision d, made at now, changes in the state of the user
// who sent the push: the values its rule sets and unsets, and its cooldown.
func ChangeOf(d engine.Decision, now time.Time) UserChange {
	c := d.Change
	if c == nil || d.Rule == nil {
		return UserChange{}
	}
	uc := UserChange{Now: now, Set: c.Set, Unset: c.Unset, SessionTTL: c.SessionTTL}
	if c.Cooldown > 0 {
		uc.CooldownRule, uc.CooldownUntil = d.Rule.ID, now.Add(c.Cooldown)
	}
	return uc
}
