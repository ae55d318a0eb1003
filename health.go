package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// runHealth asks a server's /healthz or /readyz, for a container's health
// check where there is no curl: exit 0 when it answers 200.
func runHealth(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080/readyz", "the address to ask: /healthz (alive) or /readyz (rules loaded)")
	timeout := fs.Duration("timeout", 2*time.Second, "how long to wait for the answer")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: wxreply health [--url URL]\n\nExits 0 when the server at URL answers 200, 1 otherwise: a health check for containers.\n\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	client := &http.Client{Timeout: *timeout}
	resp, err := client.Get(*url)
	if err != nil {
		fmt.Fprintf(stderr, "wxreply health: %v\n", err)
		return exitFailure
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "wxreply health: %s answered %s\n", *url, resp.Status)
		return exitFailure
	}
	fmt.Fprintf(stdout, "%s", body)
	return exitOK
}
