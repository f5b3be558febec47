// Command go-winrm runs commands on a WinRM server with masterzen/winrm and
// prints one JSON result per case, for the wsman conformance tests.
//
// Usage: go-winrm HOST PORT basic|ntlm USER PASSWORD CASES_JSON
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/masterzen/winrm"
)

type testCase struct {
	Kind    string `json:"kind"`
	Command string `json:"command"`
}

type result struct {
	Status    int    `json:"status"`
	StdoutB64 string `json:"stdout_b64"`
	StderrB64 string `json:"stderr_b64"`
	Error     string `json:"error,omitempty"`
}

func main() {
	if len(os.Args) != 7 {
		fmt.Fprintln(os.Stderr, "usage: go-winrm HOST PORT basic|ntlm USER PASSWORD CASES_JSON")
		os.Exit(2)
	}
	port, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad port:", err)
		os.Exit(2)
	}
	endpoint := winrm.NewEndpoint(os.Args[1], port, false, false, nil, nil, nil, 10*time.Second)
	params := winrm.DefaultParameters
	params.Timeout = "PT2S"
	if os.Args[3] == "ntlm" {
		params.TransportDecorator = func() winrm.Transporter { return &winrm.ClientNTLM{} }
	}
	client, err := winrm.NewClientWithParameters(endpoint, os.Args[4], os.Args[5], params)
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
	var cases []testCase
	if err := json.Unmarshal([]byte(os.Args[6]), &cases); err != nil {
		fmt.Fprintln(os.Stderr, "cases:", err)
		os.Exit(2)
	}
	enc := json.NewEncoder(os.Stdout)
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		cmd := c.Command
		if c.Kind == "ps" {
			cmd = winrm.Powershell(c.Command)
		}
		code, err := client.Run(cmd, &stdout, &stderr)
		r := result{Status: code, StdoutB64: base64.StdEncoding.EncodeToString(stdout.Bytes()), StderrB64: base64.StdEncoding.EncodeToString(stderr.Bytes())}
		if err != nil {
			r.Error = err.Error()
		}
		_ = enc.Encode(r)
	}
}
