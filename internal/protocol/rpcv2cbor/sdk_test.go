package rpcv2cbor_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"

	"github.com/wharfhq/wharf/api/models"
	"github.com/wharfhq/wharf/internal/protocol"
	"github.com/wharfhq/wharf/internal/protocol/protocoltest"
	"github.com/wharfhq/wharf/internal/protocol/rpcv2cbor"
)

var codec rpcv2cbor.Codec

// serve answers every request with out (or e) for the operation named by
// the request path, and records it.
func serve(t *testing.T, out map[string]any, e *protocol.APIError) (*protocoltest.Server, *cloudwatch.Client) {
	t.Helper()
	m := models.MustLoad("cloudwatch")
	srv := protocoltest.NewServer(t, func(w http.ResponseWriter, req protocoltest.Request) {
		if e != nil {
			codec.EncodeError(w, m, e, "req-1")
			return
		}
		name := req.HTTP.URL.Path[strings.LastIndexByte(req.HTTP.URL.Path, '/')+1:]
		op := m.Operations[name]
		if op == nil {
			t.Errorf("unknown operation in path %s", req.HTTP.URL.Path)
			http.Error(w, "bad", 400)
			return
		}
		codec.EncodeOutput(w, m, op, out, "req-1")
	})
	return srv, cloudwatch.NewFromConfig(srv.Config())
}

func TestPutMetricData(t *testing.T) {
	m := models.MustLoad("cloudwatch")
	srv, client := serve(t, nil, nil)
	ts := time.Date(2026, 1, 2, 3, 4, 5, 123e6, time.UTC)
	_, err := client.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{
		Namespace: aws.String("App"),
		MetricData: []cwtypes.MetricDatum{{
			MetricName:        aws.String("Latency"),
			Timestamp:         aws.Time(ts),
			Value:             aws.Float64(1.25),
			Unit:              cwtypes.StandardUnitMilliseconds,
			StorageResolution: aws.Int32(1),
			Dimensions:        []cwtypes.Dimension{{Name: aws.String("Host"), Value: aws.String("a")}, {Name: aws.String("Zone"), Value: aws.String("z")}},
		}, {
			MetricName:      aws.String("Requests"),
			Values:          []float64{1, 2.5, -3},
			Counts:          []float64{10, 20, 30},
			StatisticValues: &cwtypes.StatisticSet{Maximum: aws.Float64(9), Minimum: aws.Float64(0), SampleCount: aws.Float64(4), Sum: aws.Float64(12)},
		}},
		EntityMetricData: []cwtypes.EntityMetricData{{
			Entity:     &cwtypes.Entity{KeyAttributes: map[string]string{"Type": "Service", "Name": "web"}, Attributes: map[string]string{"PlatformType": "Generic"}},
			MetricData: []cwtypes.MetricDatum{{MetricName: aws.String("x"), Value: aws.Float64(0)}},
		}},
		StrictEntityValidation: aws.Bool(false),
	})
	if err != nil {
		t.Fatal(err)
	}
	req := srv.Last(t)
	if req.HTTP.URL.Path != "/service/GraniteServiceVersion20100801/operation/PutMetricData" ||
		req.HTTP.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" || req.HTTP.Header.Get("Content-Type") != "application/cbor" {
		t.Errorf("request %s %v", req.HTTP.URL.Path, req.HTTP.Header)
	}
	tree := protocoltest.Decode(t, codec, m, "PutMetricData", req)
	want := map[string]any{
		"Namespace": "App",
		"MetricData": []any{
			map[string]any{
				"MetricName": "Latency", "Timestamp": ts, "Value": 1.25, "Unit": "Milliseconds", "StorageResolution": int64(1),
				"Dimensions": []any{map[string]any{"Name": "Host", "Value": "a"}, map[string]any{"Name": "Zone", "Value": "z"}},
			},
			map[string]any{
				"MetricName": "Requests", "Values": []any{1.0, 2.5, -3.0}, "Counts": []any{10.0, 20.0, 30.0},
				"StatisticValues": map[string]any{"Maximum": 9.0, "Minimum": 0.0, "SampleCount": 4.0, "Sum": 12.0},
			},
		},
		"EntityMetricData": []any{map[string]any{
			"Entity":     map[string]any{"KeyAttributes": map[string]any{"Type": "Service", "Name": "web"}, "Attributes": map[string]any{"PlatformType": "Generic"}},
			"MetricData": []any{map[string]any{"MetricName": "x", "Value": 0.0}},
		}},
		"StrictEntityValidation": false,
	}
	if !protocoltest.Equal(want, tree) {
		t.Errorf("tree differs: %s", protocoltest.Diff(want, tree))
	}
	if got := tree["MetricData"].([]any)[0].(map[string]any)["Timestamp"].(time.Time); !got.Equal(ts) {
		t.Errorf("timestamp %v, want exactly %v", got, ts)
	}
}

// PutMetricData bodies over 10 KiB arrive gzipped; the edge inflates them
// before the codec sees them, as the test server does.
func TestPutMetricDataGzip(t *testing.T) {
	m := models.MustLoad("cloudwatch")
	srv, client := serve(t, nil, nil)
	var data []cwtypes.MetricDatum
	for i := range 200 {
		data = append(data, cwtypes.MetricDatum{
			MetricName: aws.String(fmt.Sprintf("metric-%03d", i)),
			Value:      aws.Float64(float64(i)),
			Dimensions: []cwtypes.Dimension{{Name: aws.String("Host"), Value: aws.String(strings.Repeat("h", 40))}},
		})
	}
	if _, err := client.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Big"), MetricData: data}); err != nil {
		t.Fatal(err)
	}
	req := srv.Last(t)
	if req.HTTP.Header.Get("Content-Encoding") != "gzip" || len(req.Raw) >= len(req.Body) {
		t.Fatalf("expected a gzipped body: encoding %q, %d bytes raw, %d inflated", req.HTTP.Header.Get("Content-Encoding"), len(req.Raw), len(req.Body))
	}
	tree := protocoltest.Decode(t, codec, m, "PutMetricData", req)
	md := tree["MetricData"].([]any)
	if len(md) != 200 || md[199].(map[string]any)["Value"] != 199.0 {
		t.Errorf("decoded %d metrics", len(md))
	}
}

func TestGetMetricStatistics(t *testing.T) {
	m := models.MustLoad("cloudwatch")
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	srv, client := serve(t, map[string]any{
		"Label": "Latency",
		"Datapoints": []any{
			map[string]any{"Timestamp": t0, "Average": 1.5, "SampleCount": 3.0, "Unit": "Milliseconds",
				"ExtendedStatistics": map[string]any{"p99": 7.25}},
			map[string]any{"Timestamp": t0.Add(time.Minute + 250*time.Millisecond), "Maximum": int64(2)}, // an int for a double
		},
	}, nil)
	out, err := client.GetMetricStatistics(context.Background(), &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("App"), MetricName: aws.String("Latency"),
		StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(time.Hour)), Period: aws.Int32(60),
		Statistics:         []cwtypes.Statistic{cwtypes.StatisticAverage, cwtypes.StatisticMaximum},
		ExtendedStatistics: []string{"p99"},
		Dimensions:         []cwtypes.Dimension{{Name: aws.String("Host"), Value: aws.String("a")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Label) != "Latency" || len(out.Datapoints) != 2 {
		t.Fatalf("output = %+v", out)
	}
	d0, d1 := out.Datapoints[0], out.Datapoints[1]
	if !d0.Timestamp.Equal(t0) || aws.ToFloat64(d0.Average) != 1.5 || d0.Unit != cwtypes.StandardUnitMilliseconds || d0.ExtendedStatistics["p99"] != 7.25 {
		t.Errorf("datapoint 0 = %+v", d0)
	}
	if !d1.Timestamp.Equal(t0.Add(time.Minute+250*time.Millisecond)) || aws.ToFloat64(d1.Maximum) != 2 {
		t.Errorf("datapoint 1 = %+v", d1)
	}
	tree := protocoltest.Decode(t, codec, m, "GetMetricStatistics", srv.Last(t))
	want := map[string]any{
		"Namespace": "App", "MetricName": "Latency", "StartTime": t0, "EndTime": t0.Add(time.Hour), "Period": int64(60),
		"Statistics": []any{"Average", "Maximum"}, "ExtendedStatistics": []any{"p99"},
		"Dimensions": []any{map[string]any{"Name": "Host", "Value": "a"}},
	}
	if !protocoltest.Equal(want, tree) {
		t.Errorf("tree differs: %s", protocoltest.Diff(want, tree))
	}
}

func TestErrorsReachTheSDK(t *testing.T) {
	m := models.MustLoad("cloudwatch")

	// The query-compatible code (x-amzn-query-error) wins over the shape name.
	_, client := serve(t, nil, &protocol.APIError{
		Code: "InvalidParameterValueException", Message: "The parameter Period must be a multiple of 60.", Status: 400, Sender: true,
		Shape: m.Shapes["InvalidParameterValueException"],
	})
	_, err := client.GetMetricStatistics(context.Background(), &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("App"), MetricName: aws.String("x"), StartTime: aws.Time(time.Unix(0, 0)), EndTime: aws.Time(time.Unix(60, 0)), Period: aws.Int32(7),
	})
	var ipv *cwtypes.InvalidParameterValueException
	if !errors.As(err, &ipv) {
		t.Fatalf("error %T %v is not an InvalidParameterValueException", err, err)
	}
	if ipv.ErrorCode() != "InvalidParameterValue" || ipv.ErrorMessage() != "The parameter Period must be a multiple of 60." {
		t.Errorf("code %q message %q", ipv.ErrorCode(), ipv.ErrorMessage())
	}

	_, client = serve(t, nil, &protocol.APIError{
		Code: "DashboardNotFoundError", Message: "Dashboard d does not exist", Status: 404, Sender: true,
		Shape: m.Shapes["DashboardNotFoundError"],
	})
	_, err = client.GetDashboard(context.Background(), &cloudwatch.GetDashboardInput{DashboardName: aws.String("d")})
	var dnf *cwtypes.DashboardNotFoundError
	if !errors.As(err, &dnf) || dnf.ErrorCode() != "ResourceNotFound" || dnf.ErrorMessage() != "Dashboard d does not exist" {
		t.Fatalf("error %T %v", err, err)
	}

	// Extra members of the error shape reach the typed error.
	_, client = serve(t, nil, &protocol.APIError{
		Code: "ResourceNotFoundException", Message: "no such alarm", Status: 404, Sender: true,
		Shape:  m.Shapes["ResourceNotFoundException"],
		Fields: map[string]any{"ResourceType": "Alarm", "ResourceId": "a1"},
	})
	_, err = client.ListTagsForResource(context.Background(), &cloudwatch.ListTagsForResourceInput{ResourceARN: aws.String("arn:a")})
	var rnf *cwtypes.ResourceNotFoundException
	if !errors.As(err, &rnf) || aws.ToString(rnf.ResourceType) != "Alarm" || aws.ToString(rnf.ResourceId) != "a1" || rnf.ErrorCode() != "ResourceNotFoundException" {
		t.Fatalf("error %T %+v", err, err)
	}

	// A code the model does not know.
	_, client = serve(t, nil, &protocol.APIError{Code: "ThrottlingException", Message: "slow down", Status: 400, Sender: true})
	_, err = client.ListDashboards(context.Background(), &cloudwatch.ListDashboardsInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" || ae.ErrorMessage() != "slow down" || ae.ErrorFault() != smithy.FaultClient {
		t.Fatalf("error %T %v", err, err)
	}
}
