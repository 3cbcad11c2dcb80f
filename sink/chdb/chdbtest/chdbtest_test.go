package chdbtest

import (
	"context"
	"testing"
)

func TestDatabaseIsDroppedWhenTestEnds(t *testing.T) {
	var name string
	t.Run("user", func(t *testing.T) {
		var eng interface {
			Query(context.Context, string, string) ([]byte, error)
		}
		eng, name = Database(t)
		got, err := eng.Query(context.Background(), "EXISTS DATABASE "+name, "TabSeparated")
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "1\n" {
			t.Fatalf("database %s missing during the test: EXISTS = %q", name, got)
		}
	})
	if name == "" {
		t.Skip("engine unavailable")
	}
	got, err := Engine(t).Query(context.Background(), "EXISTS DATABASE "+name, "TabSeparated")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "0\n" {
		t.Errorf("database %s survived its test: EXISTS = %q", name, got)
	}
}

func TestDatabaseNamesAreUniqueIdentifiers(t *testing.T) {
	tests := []struct {
		test string
		seq  uint64
		want string
	}{
		{"TestInsert", 1, "t_testinsert_1"},
		{"TestInsert/dedup token", 2, "t_testinsert_dedup_token_2"},
		{"TestÜber-Weird.Name", 3, "t_test_ber_weird_name_3"},
		{"TestAVeryLongNameThatGoesOnAndOnAndOnBeyondAnyReasonableLength", 4, "t_testaverylongnamethatgoesonandonandonbeyondany_4"},
	}
	for _, tt := range tests {
		if got := databaseName(tt.test, tt.seq); got != tt.want {
			t.Errorf("databaseName(%q, %d) = %q, want %q", tt.test, tt.seq, got, tt.want)
		}
	}
}
