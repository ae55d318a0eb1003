package engine_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/wxreply/wxreply/engine"
)

// at is a Wednesday at the given time of day in the account's zone.
func at(hour, min, sec int) time.Time {
	return time.Date(2024, 6, 12, hour, min, sec, 0, engine.DefaultLocation)
}

func TestEnv_TimeBetween(t *testing.T) {
	tests := []struct {
		from, to string
		now      time.Time
		want     bool
	}{
		{"09:00", "21:00", at(13, 26, 41), true},
		{"09:00", "21:00", at(8, 59, 59), false},
		{"09:00", "21:00", at(9, 0, 0), true}, // from is inclusive
		{"09:00", "21:00", at(20, 59, 59), true},
		{"09:00", "21:00", at(21, 0, 0), false}, // to is exclusive
		{"09:00", "21:00", at(23, 0, 0), false},
		{"9:00", "21:00", at(9, 30, 0), true}, // one-digit hour
		{"22:00", "06:00", at(21, 59, 0), false},
		{"22:00", "06:00", at(22, 0, 0), true},
		{"22:00", "06:00", at(23, 30, 0), true},
		{"22:00", "06:00", at(0, 0, 0), true},
		{"22:00", "06:00", at(5, 0, 0), true},
		{"22:00", "06:00", at(5, 59, 59), true},
		{"22:00", "06:00", at(6, 0, 0), false},
		{"22:00", "06:00", at(12, 0, 0), false},
		{"00:00", "23:59", at(0, 0, 0), true},
		{"09:00", "09:00", at(9, 0, 0), false}, // [from, to) is empty
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s-%s at %s", tt.from, tt.to, tt.now.Format("15:04:05")), func(t *testing.T) {
			env := engine.NewEnv(textMsg(t, "hi"), nil, tt.now)
			got, err := env.TimeBetween(tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("TimeBetween = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEnv_TimeBetween_badTime(t *testing.T) {
	tests := []struct{ from, to, bad string }{
		{"9am", "18:00", "9am"},
		{"09:00", "25:00", "25:00"},
		{"09:00", "", `""`},
		{"09.00", "18:00", "09.00"},
	}
	for _, tt := range tests {
		t.Run(tt.from+"-"+tt.to, func(t *testing.T) {
			env := engine.NewEnv(textMsg(t, "hi"), nil, at(10, 0, 0))
			got, err := env.TimeBetween(tt.from, tt.to)
			if err == nil {
				t.Fatalf("TimeBetween = %v, want an error", got)
			}
			for _, want := range []string{"HH:MM", tt.bad} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}

	// In a condition the same mistake is a run-time error with expr's snippet.
	cond := mustCondition(t, `TimeBetween("9am", "18:00")`, nil)
	_, err := cond.Eval(engine.NewEnv(textMsg(t, "hi"), nil, at(10, 0, 0)))
	if err == nil || !strings.Contains(err.Error(), "HH:MM") || !strings.Contains(err.Error(), "| TimeBetween(") {
		t.Errorf("Eval = %v, want the HH:MM hint and the condition's snippet", err)
	}
}

func TestEnv_Weekday(t *testing.T) {
	tests := []struct {
		now     time.Time
		weekday string
		weekend bool
	}{
		{time.Date(2024, 6, 14, 23, 59, 59, 0, engine.DefaultLocation), "Friday", false},
		{time.Date(2024, 6, 15, 0, 0, 0, 0, engine.DefaultLocation), "Saturday", true},
		{time.Date(2024, 6, 16, 12, 0, 0, 0, engine.DefaultLocation), "Sunday", true},
		{time.Date(2024, 6, 17, 0, 0, 0, 0, engine.DefaultLocation), "Monday", false},
		// Friday 20:00 in UTC is Saturday 04:00 in Shanghai: Now's own zone decides.
		{time.Date(2024, 6, 14, 20, 0, 0, 0, time.UTC).In(engine.DefaultLocation), "Saturday", true},
		{time.Date(2024, 6, 14, 20, 0, 0, 0, time.UTC), "Friday", false},
	}
	for _, tt := range tests {
		t.Run(tt.now.Format(time.RFC3339), func(t *testing.T) {
			env := engine.NewEnv(textMsg(t, "hi"), nil, tt.now)
			if got := env.Weekday(); got != tt.weekday {
				t.Errorf("Weekday = %q, want %q", got, tt.weekday)
			}
			if got := env.IsWeekend(); got != tt.weekend {
				t.Errorf("IsWeekend = %v, want %v", got, tt.weekend)
			}
			cond := mustCondition(t, fmt.Sprintf(`IsWeekend() == %v && Weekday() == %q`, tt.weekend, tt.weekday), nil)
			if ok, err := cond.Eval(env); !ok || err != nil {
				t.Errorf("condition %q = %v, %v; want true", cond.Source(), ok, err)
			}
		})
	}
}

func TestEnv_DistanceKm(t *testing.T) {
	// People's Square to the Bund, Shanghai: about 1.9 km.
	const (
		squareLat, squareLng = 31.2304, 121.4737
		bundLat, bundLng     = 31.2400, 121.4900
	)
	square := fmt.Sprint(squareLat)
	squareE := fmt.Sprint(squareLng)
	tests := []struct {
		name   string
		fields map[string]string
		want   float64 // +Inf: no place
		tol    float64
	}{
		{"location message", map[string]string{"MsgType": "location", "Location_X": square, "Location_Y": squareE, "Scale": "15"}, 1.9, 0.2},
		{"LOCATION event", map[string]string{"MsgType": "event", "Event": "LOCATION", "Latitude": square, "Longitude": squareE, "Precision": "65"}, 1.9, 0.2},
		{"location_select", map[string]string{"MsgType": "event", "Event": "location_select", "EventKey": "K", "SendLocationInfo/Location_X": square, "SendLocationInfo/Location_Y": squareE}, 1.9, 0.2},
		{"at the Bund", map[string]string{"MsgType": "location", "Location_X": fmt.Sprint(bundLat), "Location_Y": fmt.Sprint(bundLng)}, 0, 1e-9},
		{"from Tiananmen", map[string]string{"MsgType": "location", "Location_X": "39.908823", "Location_Y": "116.397470"}, 1070, 30},
		{"text", map[string]string{"MsgType": "text", "Content": "外滩怎么走"}, math.Inf(1), 0},
		{"CLICK", map[string]string{"MsgType": "event", "Event": "CLICK", "EventKey": "K"}, math.Inf(1), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := engine.NewEnv(mustEvent(t, tt.fields), nil, testNow)
			got := env.DistanceKm(bundLat, bundLng)
			if math.IsInf(tt.want, 1) {
				if !math.IsInf(got, 1) {
					t.Errorf("DistanceKm = %v, want +Inf", got)
				}
			} else if math.Abs(got-tt.want) > tt.tol {
				t.Errorf("DistanceKm = %.3f km, want %.3f ± %.3f", got, tt.want, tt.tol)
			}

			// The way a rule uses it: "near the Bund".
			cond := mustCondition(t, fmt.Sprintf(`DistanceKm(%v, %v) < 5`, bundLat, bundLng), nil)
			near, err := cond.Eval(env)
			if err != nil {
				t.Fatal(err)
			}
			if wantNear := tt.want < 5; near != wantNear {
				t.Errorf("%s = %v, want %v", cond.Source(), near, wantNear)
			}
		})
	}
}

func TestNewEnv(t *testing.T) {
	ev := textMsg(t, "hi")
	vars := map[string]any{"shop": "x"}
	env := engine.NewEnv(ev, vars, testNow)
	if env.Content != "hi" || env.Text != "hi" || env.OpenID != ev.OpenID {
		t.Errorf("Env does not carry the event's fields: %+v", env)
	}
	if env.Vars["shop"] != "x" || !env.Now.Equal(testNow) {
		t.Errorf("Env.Vars = %v, Env.Now = %v", env.Vars, env.Now)
	}
	// The env holds a copy: a condition cannot change the event others see.
	env.Content = "changed"
	if ev.Content != "hi" {
		t.Errorf("changing the env changed the event: Content = %q", ev.Content)
	}
}
