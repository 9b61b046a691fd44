package policy

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestMarshalCanonical(t *testing.T) {
	d := mustParse(t, `{
	  "Statement": {"Effect": "Allow", "Condition": {"Bool": {"aws:SecureTransport": true}, "NumericLessThan": {"s3:max-keys": [10, "20"]}},
	                "Resource": ["arn:aws:s3:::b/*"], "Action": ["s3:GetObject", "s3:PutObject"],
	                "Principal": {"Service": "s3.amazonaws.com", "AWS": ["123456789012"]}, "Sid": "S"},
	  "Id": "x<y>",
	  "Version": "2012-10-17"
	}`)
	got, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Version":"2012-10-17","Id":"x\u003cy\u003e","Statement":[{"Sid":"S","Effect":"Allow",` +
		`"Principal":{"AWS":"123456789012","Service":"s3.amazonaws.com"},"Action":["s3:GetObject","s3:PutObject"],` +
		`"Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"true"},"NumericLessThan":{"s3:max-keys":["10","20"]}}}]}`
	if got != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", got, want)
	}
	again := mustParse(t, got)
	if !reflect.DeepEqual(again, d) {
		t.Errorf("Parse(Marshal(d)) = %+v, want %+v", again, d)
	}
}

func TestMarshalRoundTripsRealisticPolicies(t *testing.T) {
	for _, doc := range []string{adminPolicy, ecsReadOnlyPolicy, denyOutsideRegionPolicy, selfManagePolicy, ecsTasksTrustPolicy, crossAccountTrustPolicy,
		stmt(`{"Effect":"Allow","Principal":"*","NotAction":"s3:*","NotResource":["arn:aws:s3:::a","arn:aws:s3:::b"]}`),
		stmt(`{"Effect":"Deny","NotPrincipal":{"AWS":["123456789012"],"Federated":"f.example"},"Action":"*"}`)} {
		d := mustParse(t, doc)
		out, err := d.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if again := mustParse(t, out); !reflect.DeepEqual(again, d) {
			t.Errorf("round trip of %s changed it:\n%+v\n%+v", doc, d, again)
		}
	}
}

func TestDocumentJSON(t *testing.T) {
	type envelope struct {
		Name   string
		Policy *Document
	}
	in := `{"Name":"p","Policy":{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}}`
	var e envelope
	if err := json.Unmarshal([]byte(in), &e); err != nil {
		t.Fatal(err)
	}
	if e.Policy == nil || len(e.Policy.Statements) != 1 {
		t.Fatalf("unmarshalled %+v", e.Policy)
	}
	out, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"Name":"p","Policy":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}}`; string(out) != want {
		t.Errorf("marshalled %s, want %s", out, want)
	}
	bad := `{"Name":"p","Policy":{"Statement":[]}}`
	if err := json.Unmarshal([]byte(bad), &e); err == nil {
		t.Error("an invalid embedded policy was accepted")
	}
}

func TestMarshalRefusesDuplicateConditionKeys(t *testing.T) {
	d := &Document{Statements: []Statement{{Effect: EffectAllow, Action: []string{"*"}, Resource: []string{"*"}, Condition: []Condition{
		{"StringEquals", "aws:username", []string{"a"}},
		{"StringEquals", "aws:username", []string{"b"}},
	}}}}
	if _, err := d.Marshal(); err == nil {
		t.Error("Marshal wrote a condition key twice")
	}
}
