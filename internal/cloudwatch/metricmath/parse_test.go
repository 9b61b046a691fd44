package metricmath

import (
	"reflect"
	"testing"
)

func TestRefs(t *testing.T) {
	n, err := Parse("SUM([web, api])")
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := Refs(n)
	if !reflect.DeepEqual(ids, []string{"web", "api"}) {
		t.Fatalf("%#v -> %v", n, ids)
	}
}
