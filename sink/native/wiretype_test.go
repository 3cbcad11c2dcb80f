package native

import "testing"

func TestWireTypeDropsEveryLowCardinality(t *testing.T) {
	tests := map[string]string{
		"String":                                              "String",
		"LowCardinality(String)":                              "String",
		"LowCardinality(Nullable(String))":                    "Nullable(String)",
		"Array(LowCardinality(String))":                       "Array(String)",
		"Map(LowCardinality(String), LowCardinality(String))": "Map(String, String)",
		"Map(String, Array(LowCardinality(String)))":          "Map(String, Array(String))",
		"LowCardinality(String":                               "LowCardinality(String",
	}
	for in, want := range tests {
		if got := wireType(in); got != want {
			t.Errorf("wireType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitPairSplitsAtTheTopLevelComma(t *testing.T) {
	k, v, ok := splitPair("Tuple(a String, b UInt8), Map(String, String)")
	if !ok || k != "Tuple(a String, b UInt8)" || v != "Map(String, String)" {
		t.Errorf("splitPair: %q, %q, %v", k, v, ok)
	}
	if _, _, ok := splitPair("String"); ok {
		t.Error("splitPair found a pair in String")
	}
}
