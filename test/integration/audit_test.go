package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/wharfhq/wharf/internal/wharftest"
)

// The audit log records PutLogEvents with its group and stream but not
// the events themselves (bulk data CloudTrail does not keep either).
func TestAuditOmitsLogEvents(t *testing.T) {
	env := wharftest.Start(t)
	ctx := context.Background()
	lc := cloudwatchlogs.NewFromConfig(env.Root())
	if _, err := lc.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("audited-group")}); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("audited-group"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("audited-group"), LogStreamName: aws.String("s"),
		LogEvents: []logtypes.InputLogEvent{{Message: aws.String("payload-that-stays-out-of-the-audit-log"), Timestamp: aws.Int64(time.Now().UnixMilli())}}}); err != nil {
		t.Fatal(err)
	}
	ct := cloudtrail.NewFromConfig(env.Root())
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("PutLogEvents")}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Events) == 1 {
			ev := aws.ToString(out.Events[0].CloudTrailEvent)
			if !strings.Contains(ev, `"audited-group"`) {
				t.Errorf("the PutLogEvents audit event does not name the log group: %s", ev)
			}
			if strings.Contains(ev, "payload-that-stays-out") || strings.Contains(ev, "logEvents") {
				t.Errorf("the PutLogEvents audit event holds the log events: %s", ev)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("PutLogEvents never showed up in LookupEvents (got %d events)", len(out.Events))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
