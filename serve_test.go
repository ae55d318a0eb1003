package main

import (
	"strings"
	"testing"
)

func TestParseCIDRs(t *testing.T) {
	tests := []struct {
		in   string
		want []string // the networks, as net.IPNet prints them
		err  string
	}{
		{"", nil, ""},
		{"10.0.0.0/8", []string{"10.0.0.0/8"}, ""},
		{" 10.0.0.0/8 , 192.168.1.7,fd00::/8 ", []string{"10.0.0.0/8", "192.168.1.7/32", "fd00::/8"}, ""},
		{"::1", []string{"::1/128"}, ""},
		{"10.0.0.0/8,,", []string{"10.0.0.0/8"}, ""},
		{"proxy.local", nil, `"proxy.local" is neither an address nor a CIDR`},
		{"10.0.0.0/33", nil, `"10.0.0.0/33" is not a CIDR`},
	}
	for _, tt := range tests {
		nets, err := parseCIDRs(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		var got []string
		for _, n := range nets {
			got = append(got, n.String())
		}
		if err != nil || strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("%q: %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}
