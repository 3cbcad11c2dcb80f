//go:build !unix

package erasure

import (
	"fmt"
	"os"
)

// lock only creates the directory where flock(2) is missing: one forget at a time is then up to
// the operator.
func (s *Store) lock() (func() error, error) {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("erasure requests: %w", err)
	}
	return func() error { return nil }, nil
}
