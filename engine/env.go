package engine

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Env is what a condition and a reply template see: the fields of the event
// envelope, the rule folder's Vars, the sender's Session values, and Now in
// the account's time zone. Its methods are functions in conditions
// (TimeBetween("09:00", "21:00")).
//
// Conditions are type-checked against Env when they are compiled, and the same
// type is passed when they run, so the two can never disagree. Env and *Env
// have no methods but those conditions may call: expr finds a method by its
// index among them.
type Env struct {
	envelope
	Vars map[string]any
	// Session holds the values rules stored for the sender with set. Every
	// name some rule of the set sets is there, "" while not set, so that
	// Session.step == "" holds for a user who has not started.
	Session map[string]string
	Now     time.Time

	meter *meter // the push's budget; nil outside Match
}

// envelope lets Env embed Event under a name that does not hide Event's own
// Event field (the event name) from conditions and templates.
type envelope = Event

// TimeBetween reports whether Now's time of day lies in [from, to), both
// written "15:04". A range that ends before it starts wraps past midnight:
// TimeBetween("22:00", "06:00") holds at 23:30 and at 05:00.
func (e Env) TimeBetween(from, to string) (bool, error) {
	start, err := clockMinutes(from)
	if err != nil {
		return false, err
	}
	end, err := clockMinutes(to)
	if err != nil {
		return false, err
	}
	now := e.Now.Hour()*60 + e.Now.Minute()
	if start <= end {
		return start <= now && now < end, nil
	}
	return now >= start || now < end, nil
}

func clockMinutes(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("time of day %q: write it as HH:MM, e.g. \"09:30\"", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// Weekday is Now's day of the week in English: "Monday" ... "Sunday".
func (e Env) Weekday() string {
	return e.Now.Weekday().String()
}

// IsWeekend reports whether Now falls on a Saturday or a Sunday.
func (e Env) IsWeekend() bool {
	d := e.Now.Weekday()
	return d == time.Saturday || d == time.Sunday
}

// DistanceKm is the great-circle distance in kilometres from the place this
// push carries (a location message, a LOCATION report or a location_select
// menu event) to the point lat, lng. It is +Inf when the push carries no place,
// so that DistanceKm(lat, lng) < 5 is false for a text message.
func (e Env) DistanceKm(lat, lng float64) float64 {
	from, ok := e.place()
	if !ok {
		return math.Inf(1)
	}
	return haversineKm(from[0], from[1], lat, lng)
}

func (e Env) place() ([2]float64, bool) {
	switch {
	case e.MsgType == "location":
		return [2]float64{e.Location_X, e.Location_Y}, true
	case e.Latitude != 0 || e.Longitude != 0:
		return [2]float64{e.Latitude, e.Longitude}, true
	case e.SendLocationInfo.Location_X != 0 || e.SendLocationInfo.Location_Y != 0:
		return [2]float64{e.SendLocationInfo.Location_X, e.SendLocationInfo.Location_Y}, true
	}
	return [2]float64{}, false
}

func haversineKm(lat1, lng1, lat2, lng2 float64) float64 {
	const earthRadiusKm = 6371.0
	rad := math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLng := (lng2 - lng1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(a))
}

// NewEnv is the environment conditions and templates see for ev.
func NewEnv(ev *Event, vars map[string]any, now time.Time) *Env {
	return &Env{envelope: *ev, Vars: vars, Now: now}
}

var timeLayouts = []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"}

// ParseTime reads a time as rule tests and commands take it: RFC 3339
// (2024-06-12T22:30:00+08:00), or without an offset in the account's time
// zone loc (2024-06-12 22:30, 2024-06-12T22:30:05, 2024-06-12).
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.In(loc), nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: write RFC 3339, e.g. 2024-06-12T22:30:00+08:00, or 2024-06-12 22:30 in the account's time zone", s)
}
