package loadgen_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/leadhouse/leadhouse/loadgen"
)

func ExampleRun() {
	srv := httptest.NewServer(loadgen.CeilingHandler())
	defer srv.Close()

	res, err := loadgen.Run(context.Background(), loadgen.Options{
		URL:   srv.URL + "/v1/callbacks",
		Conns: 4,
		Count: 200,
		Pool:  50, // bodies from package gen
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Sent, res.Status[http.StatusAccepted], res.Latency.Count())
	// Output: 200 200 200
}
