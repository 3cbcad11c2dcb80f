package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/leadhouse/leadhouse/flatten"
)

// runFlatten prints the rows one callback becomes: how an integrator checks a payload before
// pointing the CRM at leadhouse.
func runFlatten(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) > 1 {
		return fmt.Errorf("%w: flatten takes at most one FILE (or - for standard input)", errUsage)
	}
	var (
		body []byte
		err  error
	)
	if len(args) == 0 || args[0] == "-" {
		body, err = io.ReadAll(stdin)
	} else {
		body, err = os.ReadFile(args[0])
	}
	if err != nil {
		return fmt.Errorf("read callback: %w", err)
	}
	rows, err := flatten.Flatten(body, time.Now())
	if err != nil {
		return fmt.Errorf("flatten: %w", err)
	}
	return flatten.WriteRowsJSON(stdout, rows)
}
