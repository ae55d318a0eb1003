package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/wxreply/wxreply/internal/yamlpos"
	"github.com/wxreply/wxreply/rules"
	"github.com/wxreply/wxreply/rules/ruletest"
	"github.com/wxreply/wxreply/wxmenu"
)

// schemas are the file formats wxreply schema describes.
var schemas = map[string]func() yamlpos.Schema{
	"rules": rules.JSONSchema,
	"tests": ruletest.JSONSchema,
	"menu":  wxmenu.JSONSchema,
}

func runSchema(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("schema", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: wxreply schema rules|tests|menu\n\nPrints the JSON Schema of rule files, rule test files or the menu file, for\neditors with yaml-language-server: put\n\n  # yaml-language-server: $schema=PATH/rules.json\n\nat the top of a file (the files under schema/ are these).\n")
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	schema, ok := schemas[fs.Arg(0)]
	if fs.NArg() != 1 || !ok {
		fs.Usage()
		return exitUsage
	}
	out, err := json.MarshalIndent(schema(), "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "wxreply schema: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "%s\n", out)
	return exitOK
}
