package gen_test

import (
	"encoding/json"
	"fmt"

	"github.com/leadhouse/leadhouse/gen"
)

func ExampleGenerator_Next() {
	g := gen.New(gen.Options{Seed: 1, Leads: 100})
	var buf []byte
	for range 3 {
		buf = g.Next(buf[:0])
		var p struct {
			LeadID json.Number `json:"lead_id"` // a number or a numeric string
			Action string      `json:"action"`
		}
		if err := json.Unmarshal(buf, &p); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(p.LeadID, p.Action, json.Valid(buf))
	}
	// Output:
	// 1400098 lead_updated true
	// 1400052 event_update true
	// 1400002 lead_updated true
}
