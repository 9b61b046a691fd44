package rpcv2cbor_test

import (
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/wharfhq/wharf/api/models"
	"github.com/wharfhq/wharf/internal/protocol"
	"github.com/wharfhq/wharf/internal/protocol/rpcv2cbor"
)

func ExampleCodec_DecodeInput() {
	m := models.MustLoad("cloudwatch")
	body, _ := cbor.Marshal(map[string]any{
		"Namespace": "App",
		"MetricData": []any{map[string]any{
			"MetricName": "Latency",
			"Timestamp":  cbor.Tag{Number: 1, Content: 1767323045.5}, // epoch seconds
			"Value":      1.25,
		}},
	})
	tree, err := rpcv2cbor.Codec{}.DecodeInput(m, m.Operations["PutMetricData"], nil, body)
	fmt.Println(tree["MetricData"].([]any)[0].(map[string]any)["Timestamp"], err)
	// Output:
	// 2026-01-02 03:04:05.5 +0000 UTC <nil>
}

func ExampleCodec_EncodeOutput() {
	m := models.MustLoad("cloudwatch")
	w := httptest.NewRecorder()
	rpcv2cbor.Codec{}.EncodeOutput(w, m, m.Operations["GetMetricStatistics"], map[string]any{
		"Label":      "Latency",
		"Datapoints": []any{map[string]any{"Timestamp": time.Unix(1767323040, 0), "Average": 1.5}},
	}, "8f0e2c1a")
	fmt.Println(w.Header().Get("Smithy-Protocol"), w.Header().Get("Content-Type"))
	diag, _ := cbor.Diagnose(w.Body.Bytes())
	fmt.Println(diag)
	// Output:
	// rpc-v2-cbor application/cbor
	// {"Datapoints": [{"Average": 1.5, "Timestamp": 1(1767323040.0)}], "Label": "Latency"}
}

func ExampleCodec_EncodeError() {
	m := models.MustLoad("cloudwatch")
	w := httptest.NewRecorder()
	rpcv2cbor.Codec{}.EncodeError(w, m, &protocol.APIError{
		Code:    "DashboardNotFoundError",
		Message: "Dashboard web does not exist",
		Status:  404,
		Sender:  true,
		Shape:   m.Shapes["DashboardNotFoundError"],
	}, "8f0e2c1a")
	fmt.Println(w.Code, w.Header().Get("X-Amzn-Query-Error"))
	diag, _ := cbor.Diagnose(w.Body.Bytes())
	fmt.Println(diag)
	// Output:
	// 404 ResourceNotFound;Sender
	// {"__type": "DashboardNotFoundError", "message": "Dashboard web does not exist"}
}
