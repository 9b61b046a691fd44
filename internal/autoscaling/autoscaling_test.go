package autoscaling

import (
	"errors"
	"testing"
)

func TestParsePolicyARN(t *testing.T) {
	for _, c := range []struct {
		arn                string
		ok                 bool
		cluster, svc, name string
	}{
		{"arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:6d8972f3-efc8-437c-92d1-6270f29a66e7:resource/ecs/service/default/web:policyName/cpu75", true, "default", "web", "cpu75"},
		{"arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:x:resource/ecs/service/c/s:policyName/a:b/c", true, "c", "s", "a:b/c"},
		{"arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:x:resource/dynamodb/table/t:policyName/p", false, "", "", ""},
		{"arn:aws:sns:us-east-1:123456789012:topic", false, "", "", ""},
		{"arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:x:resource/ecs/service/c:policyName/p", false, "", "", ""},
	} {
		tg, name, ok := parsePolicyARN(c.arn)
		if ok != c.ok || (ok && (tg.cluster != c.cluster || tg.service != c.svc || name != c.name)) {
			t.Errorf("%s: %+v %q %v", c.arn, tg, name, ok)
		}
	}
}

func TestPage(t *testing.T) {
	items := []string{"a", "b", "c", "d", "e"}
	id := func(s string) string { return s }
	var got []string
	var token *string
	for {
		pg, next, err := page(items, id, token, ptr(int32(2)))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, pg...)
		if next == nil {
			break
		}
		token = next
	}
	if len(got) != 5 || got[4] != "e" {
		t.Fatalf("pages: %v", got)
	}
	if _, _, err := page(items, id, ptr("YWJj"), nil); !errors.Is(err, ErrInvalidNextToken) {
		t.Fatalf("foreign token: %v", err)
	}
	if _, _, err := page(items, id, nil, ptr(int32(51))); !errors.Is(err, ErrValidation) {
		t.Fatalf("MaxResults 51: %v", err)
	}
}
