package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/wxreply/wxreply/internal/text"
)

// settings are a command's string options, each settable by flag, by
// environment variable (WXREPLY_ and the flag's name in capitals) and by
// config file (the flag's name with _ for -), in that order of precedence.
type settings struct {
	fs     *flag.FlagSet
	values map[string]*string
	defs   map[string]string
	order  []string
	given  map[string]bool   // set by a flag, the environment or the file
	from   map[string]string // where a value not from a flag or default came from
	// shared: the config file is another command's too (serve's), and
	// may hold settings this one does not read.
	shared bool
	// envPrefix starts the settings' environment variables: "WXREPLY_"
	// unless a command whose settings share names with serve's must not
	// read serve's variables.
	envPrefix string
}

func newSettings(fs *flag.FlagSet) *settings {
	return &settings{fs: fs, values: map[string]*string{}, defs: map[string]string{}, given: map[string]bool{}, from: map[string]string{}, envPrefix: "WXREPLY_"}
}

// add declares a setting; its value is read with get after resolve.
func (s *settings) add(name, def, usage string) {
	v := new(string)
	s.fs.StringVar(v, name, "", fmt.Sprintf("%s (env %s, default %q)", usage, s.envName(name), def))
	s.values[name] = v
	s.defs[name] = def
	s.order = append(s.order, name)
}

func envName(flagName string) string {
	return "WXREPLY_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// envName is the environment variable of the setting name.
func (s *settings) envName(name string) string {
	return s.envPrefix + strings.TrimPrefix(envName(name), "WXREPLY_")
}

// resolveWithConfig resolves the settings with the config file that the
// setting "config" names, by flag or environment.
func (s *settings) resolveWithConfig() error {
	configFile := *s.values["config"]
	if configFile == "" {
		configFile = os.Getenv(s.envName("config"))
	}
	return s.resolve(configFile)
}

// resolve fills every setting not given as a flag from the environment, then
// the config file (if configFile names one), then its default. An empty
// environment variable counts as unset: compose files and CI systems write
// VAR= for a variable they have no value for.
func (s *settings) resolve(configFile string) error {
	fromFlags := map[string]bool{}
	s.fs.Visit(func(f *flag.Flag) { fromFlags[f.Name] = true })
	file := map[string]string{}
	if configFile != "" {
		src, err := os.ReadFile(configFile)
		if err != nil {
			return fmt.Errorf("config file: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(src))
		var raw map[string]string
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("config file %s: %w", configFile, err)
		}
		for k, v := range raw {
			name := strings.ReplaceAll(k, "_", "-")
			if _, ok := s.values[name]; (!ok && !s.shared) || name == "config" {
				return fmt.Errorf("config file %s: unknown setting %q (known: %s)", configFile, k, strings.Join(s.fileKeys(), ", "))
			}
			file[name] = v
		}
	}
	for _, name := range s.order {
		s.given[name] = true
		if fromFlags[name] {
			continue
		}
		if v := os.Getenv(s.envName(name)); v != "" {
			*s.values[name] = v
			s.from[name] = "from " + s.envName(name)
		} else if v, ok := file[name]; ok {
			*s.values[name] = v
			s.from[name] = fmt.Sprintf("from %s in the config file %s", strings.ReplaceAll(name, "-", "_"), configFile)
		} else {
			*s.values[name] = s.defs[name]
			s.given[name] = false
		}
	}
	return nil
}

// isGiven reports whether a flag, the environment or the file set name,
// even to "".
func (s *settings) isGiven(name string) bool { return s.given[name] }

func (s *settings) fileKeys() []string {
	var keys []string
	for _, name := range s.order {
		if name != "config" {
			keys = append(keys, strings.ReplaceAll(name, "-", "_"))
		}
	}
	return keys
}

func (s *settings) get(name string) string { return *s.values[name] }

var settingError = regexp.MustCompile(`^--([a-z][a-z-]*)`)

// locate says, in err about a setting (--name ...), where its value came
// from when that is not the command line: an error naming --deadline for
// deadline: 5 in the config file would send the reader looking for a flag.
func (s *settings) locate(err error) error {
	m := settingError.FindStringSubmatch(err.Error())
	if m == nil || s.from[m[1]] == "" {
		return err
	}
	return fmt.Errorf("%w (%s)", err, s.from[m[1]])
}

// otherPrefixes start the variables of other commands and of the tests,
// which share the WXREPLY_ prefix.
var otherPrefixes = []string{"WXREPLY_FAKEAPI_", "WXREPLY_TEST_"}

// unknownEnv names, with what each may be a typo of, the environment
// variables of the settings' prefix that are none of their variables: a
// misspelt WXREPLY_REDIS_URL would leave a server sharing nothing, without
// a word. Values are not shown: they may be secrets.
func (s *settings) unknownEnv() []string {
	var known []string
	for _, name := range s.order {
		known = append(known, s.envName(name))
	}
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, s.envPrefix) || slices.Contains(known, name) ||
			slices.ContainsFunc(otherPrefixes, func(p string) bool { return p != s.envPrefix && strings.HasPrefix(name, p) }) {
			continue
		}
		msg := name + " is not a setting, and is ignored"
		guess := text.Suggest(name, known)
		for _, k := range known {
			if guess == "" && strings.HasPrefix(name, k+"_") { // WXREPLY_REDIS_URL
				guess = k
			}
		}
		if guess != "" {
			msg += ": did you mean " + guess + "?"
		}
		out = append(out, msg)
	}
	slices.Sort(out)
	return out
}
