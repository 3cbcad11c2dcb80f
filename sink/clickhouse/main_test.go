package clickhouse_test

import (
	"testing"

	"github.com/leadhouse/leadhouse/engine/enginetest"
)

func TestMain(m *testing.M) { enginetest.Main(m) }
