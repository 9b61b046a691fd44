package awsjson_test

import (
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/wharfhq/wharf/api/models"
	"github.com/wharfhq/wharf/internal/protocol"
	"github.com/wharfhq/wharf/internal/protocol/awsjson"
)

func ExampleCodec_DecodeInput() {
	m := models.MustLoad("ecs")
	op := m.Operations["ListTasks"]
	tree, err := awsjson.Codec{}.DecodeInput(m, op, nil, []byte(`{"cluster": "web", "maxResults": 10, "unknown": true, "family": null}`))
	fmt.Println(tree, err)

	_, err = awsjson.Codec{}.DecodeInput(m, op, nil, []byte(`{"maxResults": "10"}`))
	fmt.Println(err)
	// Output:
	// map[cluster:web maxResults:10] <nil>
	// Cannot deserialize request: maxResults: expected an integer, found a string
}

func ExampleCodec_EncodeOutput() {
	m := models.MustLoad("logs")
	w := httptest.NewRecorder()
	awsjson.Codec{}.EncodeOutput(w, m, m.Operations["DescribeLogGroups"], map[string]any{
		"logGroups": []any{map[string]any{"logGroupName": "/ecs/web", "creationTime": int64(1767323045000)}},
	}, "8f0e2c1a")
	fmt.Println(w.Code, w.Header().Get("Content-Type"), w.Header().Get("X-Amzn-RequestId"))
	fmt.Println(w.Body.String())

	// Timestamps are epoch seconds, with milliseconds when there are any.
	e := models.MustLoad("ecs")
	w = httptest.NewRecorder()
	awsjson.Codec{}.EncodeOutput(w, e, e.Operations["DescribeTaskDefinition"], map[string]any{
		"taskDefinition": map[string]any{"family": "web", "registeredAt": time.Date(2026, 1, 2, 3, 4, 5, 250e6, time.UTC)},
	}, "8f0e2c1a")
	fmt.Println(w.Body.String())
	// Output:
	// 200 application/x-amz-json-1.1 8f0e2c1a
	// {"logGroups":[{"creationTime":1767323045000,"logGroupName":"/ecs/web"}]}
	// {"taskDefinition":{"family":"web","registeredAt":1767323045.25}}
}

func ExampleCodec_EncodeError() {
	m := models.MustLoad("cloudwatch") // awsJson 1.0, awsQueryCompatible
	w := httptest.NewRecorder()
	awsjson.Codec{}.EncodeError(w, m, &protocol.APIError{
		Code:    "InvalidParameterValueException",
		Message: "The value 7 for parameter Period is not a multiple of 60.",
		Status:  400,
		Sender:  true,
		Shape:   m.Shapes["InvalidParameterValueException"],
	}, "8f0e2c1a")
	fmt.Println(w.Code)
	fmt.Println(w.Header().Get("X-Amzn-ErrorType"))
	fmt.Println(w.Header().Get("X-Amzn-Query-Error"))
	fmt.Println(w.Body.String())
	// Output:
	// 400
	// InvalidParameterValueException
	// InvalidParameterValue;Sender
	// {"__type":"InvalidParameterValueException","message":"The value 7 for parameter Period is not a multiple of 60."}
}
