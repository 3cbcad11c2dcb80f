package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func stages(names []string, counts ...int64) []Stage {
	out := make([]Stage, len(counts))
	for i, n := range counts {
		out[i] = Stage{names[i], n}
	}
	return out
}

var pipeline = []string{"new", "claimed", "interested", "meeting_done", "visit_done", "final_negotiation", "booking_done"}

func TestFunnelRendersAsGolden(t *testing.T) {
	tests := []struct {
		name    string
		stages  []Stage
		dropped []Stage
		opts    FunnelOptions
	}{
		{"funnel", stages(pipeline, 1000, 750, 500, 250, 125, 50, 20), []Stage{{"failed", 120}, {"junk", 30}},
			FunnelOptions{Title: "Lead funnel: project santacruz, moves since 2019-05-01 (IST)"}},
		{"funnel_thousands", stages(pipeline, 1234567, 987654, 4321, 0, 3, 2, 1), nil, FunnelOptions{}},
		// Leads can skip a stage, so a later one may be larger than the one before it.
		{"funnel_skipped_stage", stages(pipeline, 10, 4, 6, 0, 0, 0, 0), []Stage{{"failed", 0}, {"junk", 1}}, FunnelOptions{Width: 20}},
		{"funnel_first_stage_empty", stages(pipeline, 0, 3, 1, 0, 0, 0, 0), []Stage{{"failed", 2}}, FunnelOptions{Width: 10}},
		{"funnel_empty", stages(pipeline, 0, 0, 0, 0, 0, 0, 0), []Stage{{"failed", 0}, {"junk", 0}}, FunnelOptions{Title: "Lead funnel: project nowhere"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got bytes.Buffer
			if err := Funnel(&got, tt.stages, tt.dropped, tt.opts); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("Funnel output differs from %s (go test ./report -update rewrites it):\n%s", path, got.String())
			}
		})
	}
}

func TestFunnelBarsScaleToTheLargestStage(t *testing.T) {
	tests := []struct {
		n, top int64
		width  int
		want   int
	}{
		{100, 100, 40, 40},
		{50, 100, 40, 20},
		{1, 1000000, 40, 1}, // a stage with leads never looks empty
		{0, 100, 40, 0},
		{0, 0, 40, 0},
		{3, 8, 10, 4}, // rounded to the nearest character
	}
	for _, tt := range tests {
		b := bar(tt.n, tt.top, tt.width)
		if got := bytes.Count([]byte(b), []byte("#")); got != tt.want || len(b) != tt.width {
			t.Errorf("bar(%d, %d, %d) = %q: %d '#', want %d in %d characters", tt.n, tt.top, tt.width, b, got, tt.want, tt.width)
		}
	}
}
