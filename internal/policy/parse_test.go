package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// stmt wraps statement bodies in a 2012-10-17 document.
func stmt(bodies ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(bodies, ",") + `]}`
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want *Document
	}{
		{
			name: "single statement object, strings",
			doc:  `{"Version":"2012-10-17","Id":"p1","Statement":{"Sid":"S1","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`,
			want: &Document{Version: Version2012, ID: "p1", Statements: []Statement{{
				Sid: "S1", Effect: EffectAllow, Action: []string{"s3:GetObject"}, Resource: []string{"arn:aws:s3:::b/*"},
			}}},
		},
		{
			name: "lists, NotAction, NotResource",
			doc:  stmt(`{"Effect":"Deny","NotAction":["iam:*","sts:*"],"NotResource":["arn:aws:iam::123456789012:role/a","*"]}`),
			want: &Document{Version: Version2012, Statements: []Statement{{
				Effect: EffectDeny, NotAction: []string{"iam:*", "sts:*"}, NotResource: []string{"arn:aws:iam::123456789012:role/a", "*"},
			}}},
		},
		{
			name: "no version",
			doc:  `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
			want: &Document{Statements: []Statement{{Effect: EffectAllow, Action: []string{"*"}, Resource: []string{"*"}}}},
		},
		{
			name: "version 2008",
			doc:  `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
			want: &Document{Version: Version2008, Statements: []Statement{{Effect: EffectAllow, Action: []string{"*"}, Resource: []string{"*"}}}},
		},
		{
			name: "principal star, no resource",
			doc:  stmt(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}`),
			want: &Document{Version: Version2012, Statements: []Statement{{
				Effect: EffectAllow, Principal: &Principals{All: true}, Action: []string{"sts:AssumeRole"},
			}}},
		},
		{
			name: "principal map with every type",
			doc: stmt(`{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::111122223333:role/x"],` +
				`"Service":"ecs-tasks.amazonaws.com","Federated":"cognito-identity.amazonaws.com","CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},"Action":"sts:AssumeRole"}`),
			want: &Document{Version: Version2012, Statements: []Statement{{
				Effect: EffectAllow,
				Principal: &Principals{
					AWS:           []string{"123456789012", "arn:aws:iam::111122223333:role/x"},
					Service:       []string{"ecs-tasks.amazonaws.com"},
					Federated:     []string{"cognito-identity.amazonaws.com"},
					CanonicalUser: []string{"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
				},
				Action: []string{"sts:AssumeRole"},
			}}},
		},
		{
			name: "NotPrincipal",
			doc:  stmt(`{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:user/Bob"},"Action":"s3:*","Resource":"*"}`),
			want: &Document{Version: Version2012, Statements: []Statement{{
				Effect: EffectDeny, NotPrincipal: &Principals{AWS: []string{"arn:aws:iam::123456789012:user/Bob"}},
				Action: []string{"s3:*"}, Resource: []string{"*"},
			}}},
		},
		{
			name: "condition values: string, bool, number, list; order kept",
			doc: stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{` +
				`"Bool":{"aws:SecureTransport":true},` +
				`"NumericLessThan":{"s3:max-keys":10},` +
				`"StringEquals":{"aws:username":["alice","bob"],"aws:RequestedRegion":"eu-west-1"},` +
				`"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":"team*"}}}`),
			want: &Document{Version: Version2012, Statements: []Statement{{
				Effect: EffectAllow, Action: []string{"*"}, Resource: []string{"*"},
				Condition: []Condition{
					{"Bool", "aws:SecureTransport", []string{"true"}},
					{"NumericLessThan", "s3:max-keys", []string{"10"}},
					{"StringEquals", "aws:username", []string{"alice", "bob"}},
					{"StringEquals", "aws:RequestedRegion", []string{"eu-west-1"}},
					{"ForAnyValue:StringLikeIfExists", "aws:TagKeys", []string{"team*"}},
				},
			}}},
		},
		{
			name: "empty condition block",
			doc:  stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{}}`),
			want: &Document{Version: Version2012, Statements: []Statement{{Effect: EffectAllow, Action: []string{"*"}, Resource: []string{"*"}}}},
		},
		{
			name: "whitespace and empty Sid",
			doc:  "\n{ \"Statement\" : [ {\t\"Sid\": \"\", \"Effect\": \"Allow\", \"Action\": [ \"ec2:Describe*\" ], \"Resource\": [ \"*\" ] } ] }\n",
			want: &Document{Statements: []Statement{{Effect: EffectAllow, Action: []string{"ec2:Describe*"}, Resource: []string{"*"}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.doc)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse =\n%#v\nwant\n%#v", got, tt.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	const allow = `"Effect":"Allow"`
	tests := []struct {
		name    string
		doc     string
		message string // the IAM message
		detail  string // a fragment of Detail
	}{
		// JSON and document shape.
		{"empty", ``, msgSyntax, "invalid JSON"},
		{"not JSON", `{"Statement":`, msgSyntax, "invalid JSON"},
		{"null", `null`, msgSyntax, "not an object"},
		{"list", `[]`, msgSyntax, "not an object"},
		{"trailing data", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}} {}`, msgSyntax, "after the top-level"},
		{"duplicate key", `{"Statement":{"Effect":"Allow","Effect":"Deny","Action":"*","Resource":"*"}}`, msgSyntax, "duplicate key"},
		{"unknown top-level field", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"},"Foo":1}`, msgSyntax, "unknown field Foo"},
		{"lower-case field", `{"statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, msgSyntax, "unknown field statement"},
		{"bad version", `{"Version":"2012-10-18","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, msgSyntax, "Version"},
		{"version number", `{"Version":2012,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, msgSyntax, "Version"},
		{"id number", `{"Id":1,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, msgSyntax, "Id"},
		{"no statement", `{"Version":"2012-10-17"}`, msgSyntax, "Statement"},
		{"empty statement list", `{"Statement":[]}`, msgSyntax, "empty list"},
		{"statement string", `{"Statement":"x"}`, msgSyntax, "Statement is a string"},
		{"statement item not object", stmt(`"x"`), msgSyntax, "statement 1 is a string"},
		{"too deep", `{"Statement":[[[[[[[[[[]]]]]]]]]]}`, msgSyntax, "nested too deeply"},
		// Statement fields.
		{"unknown statement field", stmt(`{` + allow + `,"Action":"*","Resource":"*","Foo":"x"}`), msgSyntax, "unknown field Foo"},
		{"no effect", stmt(`{"Action":"*","Resource":"*"}`), msgSyntax, "missing required field Effect"},
		{"bad effect", stmt(`{"Effect":"Permit","Action":"*","Resource":"*"}`), msgSyntax, "not Allow or Deny"},
		{"effect not string", stmt(`{"Effect":true,"Action":"*","Resource":"*"}`), msgSyntax, "Effect is a boolean"},
		{"effect wrong case", stmt(`{"Effect":"allow","Action":"*","Resource":"*"}`), msgLegacy, "spelled"},
		{"sid number", stmt(`{"Sid":1,` + allow + `,"Action":"*","Resource":"*"}`), msgSyntax, "Sid"},
		{"action and notaction", stmt(`{` + allow + `,"Action":"*","NotAction":"s3:*","Resource":"*"}`), msgSyntax, "both Action and NotAction"},
		{"resource and notresource", stmt(`{` + allow + `,"Action":"*","Resource":"*","NotResource":"*"}`), msgSyntax, "both Resource and NotResource"},
		{"principal and notprincipal", stmt(`{` + allow + `,"Action":"*","Principal":"*","NotPrincipal":"*"}`), msgSyntax, "both Principal and NotPrincipal"},
		{"action number", stmt(`{` + allow + `,"Action":1,"Resource":"*"}`), msgSyntax, "Action is a number"},
		{"action list of numbers", stmt(`{` + allow + `,"Action":[1],"Resource":"*"}`), msgSyntax, "Action holds a number"},
		{"action object", stmt(`{` + allow + `,"Action":{"Ref":"x"},"Resource":"*"}`), msgSyntax, "Action is an object"},
		{"resource object", stmt(`{` + allow + `,"Action":"*","Resource":{"Fn::GetAtt":["a","b"]}}`), msgSyntax, "Resource is an object"},
		{"resource null", stmt(`{` + allow + `,"Action":"*","Resource":null}`), msgSyntax, "Resource is null"},
		// Actions.
		{"no action", stmt(`{` + allow + `,"Resource":"*"}`), msgNoActions, "no Action"},
		{"empty action list", stmt(`{` + allow + `,"Action":[],"Resource":"*"}`), msgNoActions, ""},
		{"empty notaction list", stmt(`{` + allow + `,"NotAction":[],"Resource":"*"}`), msgNoActions, ""},
		{"action without vendor", stmt(`{` + allow + `,"Action":"GetObject","Resource":"*"}`), msgVendorPrefix, "GetObject"},
		{"action two colons", stmt(`{` + allow + `,"Action":"s3:Get:Object","Resource":"*"}`), msgOneColon, ""},
		{"vendor wildcard", stmt(`{` + allow + `,"Action":"s*:GetObject","Resource":"*"}`), "Vendor s* is not valid", ""},
		{"empty vendor", stmt(`{` + allow + `,"Action":":GetObject","Resource":"*"}`), "Vendor  is not valid", ""},
		{"empty action name", stmt(`{` + allow + `,"Action":"s3:","Resource":"*"}`), "Invalid Action: s3:", ""},
		{"bad action char", stmt(`{` + allow + `,"Action":"s3:Get Object","Resource":"*"}`), "Invalid Action: s3:Get Object", ""},
		{"bad notaction", stmt(`{` + allow + `,"NotAction":["s3:*","iam"],"Resource":"*"}`), msgVendorPrefix, ""},
		// Resources.
		{"empty resource list", stmt(`{` + allow + `,"Action":"*","Resource":[]}`), msgNoResources, "empty"},
		{"resource not arn", stmt(`{` + allow + `,"Action":"*","Resource":"my-bucket"}`), `Resource my-bucket must be in ARN format or "*".`, ""},
		{"resource empty", stmt(`{` + allow + `,"Action":"*","Resource":""}`), `Resource  must be in ARN format or "*".`, ""},
		{"resource no arn prefix", stmt(`{` + allow + `,"Action":"*","Resource":"urn:aws:s3:::b"}`), `Resource urn:aws:s3:::b must be in ARN format or "*".`, ""},
		{"bad partition", stmt(`{` + allow + `,"Action":"*","Resource":"arn:aws2:s3:::b"}`), `Partition "aws2" is not valid for resource "arn:aws2:s3:::b".`, ""},
		{"vendor wildcard in resource", stmt(`{` + allow + `,"Action":"*","Resource":"arn:aws:s*:::b"}`), msgResourceVendor, ""},
		{"empty vendor in resource", stmt(`{` + allow + `,"Action":"*","Resource":"arn:aws::us-east-1:123456789012:x"}`), msgResourceVendor, ""},
		{"short resource with empty field", stmt(`{` + allow + `,"Action":"*","Resource":"arn:aws:iam::*"}`), msgLegacy, ""},
		{"iam with region", stmt(`{` + allow + `,"Action":"*","Resource":"arn:aws:iam:us-east-1:123456789012:user/x"}`), "IAM resource arn:aws:iam:us-east-1:123456789012:user/x cannot contain region information.", ""},
		{"iam bad path", stmt(`{` + allow + `,"Action":"*","Resource":"arn:aws:iam::123456789012:users/x"}`), msgIAMResourcePath, ""},
		{"bad notresource", stmt(`{` + allow + `,"Action":"*","NotResource":"bucket"}`), `Resource bucket must be in ARN format or "*".`, ""},
		// Principals.
		{"principal string not star", stmt(`{` + allow + `,"Principal":"123456789012","Action":"sts:AssumeRole"}`), `Invalid principal in policy: "123456789012"`, ""},
		{"principal number", stmt(`{` + allow + `,"Principal":1,"Action":"sts:AssumeRole"}`), msgSyntax, "Principal is a number"},
		{"principal empty object", stmt(`{` + allow + `,"Principal":{},"Action":"sts:AssumeRole"}`), msgSyntax, "empty object"},
		{"principal empty list", stmt(`{` + allow + `,"Principal":{"AWS":[]},"Action":"sts:AssumeRole"}`), msgSyntax, "empty list"},
		{"principal unknown type", stmt(`{` + allow + `,"Principal":{"Foo":"x"},"Action":"sts:AssumeRole"}`), `Invalid principal in policy: "Foo":"x"`, ""},
		{"principal bad account", stmt(`{` + allow + `,"Principal":{"AWS":"12345"},"Action":"sts:AssumeRole"}`), `Invalid principal in policy: "AWS":"12345"`, ""},
		{"principal wildcard arn", stmt(`{` + allow + `,"Principal":{"AWS":"arn:aws:iam::123456789012:role/*"},"Action":"sts:AssumeRole"}`), `Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:role/*"`, ""},
		{"principal malformed arn", stmt(`{` + allow + `,"Principal":{"AWS":"arn:aws::iam::123456789012:root"},"Action":"sts:AssumeRole"}`), `Invalid principal in policy: "AWS":"arn:aws::iam::123456789012:root"`, ""},
		{"principal non-iam arn", stmt(`{` + allow + `,"Principal":{"AWS":"arn:aws:s3:::bucket"},"Action":"sts:AssumeRole"}`), `Invalid principal in policy: "AWS":"arn:aws:s3:::bucket"`, ""},
		{"service wildcard", stmt(`{` + allow + `,"Principal":{"Service":"*.amazonaws.com"},"Action":"sts:AssumeRole"}`), `Invalid principal in policy: "Service":"*.amazonaws.com"`, ""},
		{"service empty", stmt(`{` + allow + `,"Principal":{"Service":""},"Action":"sts:AssumeRole"}`), `Invalid principal in policy: "Service":""`, ""},
		// Conditions.
		{"condition list", stmt(`{` + allow + `,"Action":"*","Resource":"*","Condition":[]}`), msgSyntax, "Condition is a list"},
		{"unknown operator", stmt(`{` + allow + `,"Action":"*","Resource":"*","Condition":{"StringEqualz":{"aws:username":"a"}}}`), msgSyntax, "unknown condition operator StringEqualz"},
		{"operator wrong case", stmt(`{` + allow + `,"Action":"*","Resource":"*","Condition":{"stringequals":{"aws:username":"a"}}}`), msgSyntax, "unknown condition operator"},
		{"bad qualifier", stmt(`{` + allow + `,"Action":"*","Resource":"*","Condition":{"ForSomeValues:StringEquals":{"aws:username":"a"}}}`), msgSyntax, "unknown condition operator"},
		{"operator value string", stmt(`{` + allow + `,"Action":"*","Resource":"*","Condition":{"StringEquals":"a"}}`), msgSyntax, "not an object"},
		{"condition value object", stmt(`{` + allow + `,"Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":{"a":"b"}}}}`), msgSyntax, "is an object"},
		{"condition value null", stmt(`{` + allow + `,"Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":null}}}`), msgSyntax, "is null"},
		{"condition list holds null", stmt(`{` + allow + `,"Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":["a",null]}}}`), msgSyntax, "holds null"},
		{"condition empty list", stmt(`{` + allow + `,"Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":[]}}}`), msgSyntax, "empty list"},
		{"condition key without vendor", stmt(`{` + allow + `,"Action":"*","Resource":"*","Condition":{"StringEquals":{"username":"a"}}}`), msgVendorPrefix, "username"},
		{"bad date", stmt(`{` + allow + `,"Action":"*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"yesterday"}}}`), msgLegacy, "not a date"},
		{"bad month", stmt(`{` + allow + `,"Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2020-13-01T00:00:00Z"}}}`), msgLegacy, "not a date"},
		{"bad number", stmt(`{` + allow + `,"Action":"*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":"ten"}}}`), msgSyntax, "not a valid value"},
		{"bad bool", stmt(`{` + allow + `,"Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}}`), msgSyntax, "not a valid value"},
		{"bad null", stmt(`{` + allow + `,"Action":"*","Resource":"*","Condition":{"Null":{"aws:TokenIssueTime":1}}}`), msgSyntax, "not a valid value"},
		{"bad cidr", stmt(`{` + allow + `,"Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}`), msgSyntax, "not a valid value"},
		{"bad base64", stmt(`{` + allow + `,"Action":"*","Resource":"*","Condition":{"BinaryEquals":{"k:k":"%%%"}}}`), msgSyntax, "not a valid value"},
		// Later statements are checked too.
		{"second statement", stmt(`{`+allow+`,"Action":"*","Resource":"*"}`, `{`+allow+`,"Resource":"*"}`), msgNoActions, "statement 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse(tt.doc)
			if err == nil {
				t.Fatalf("Parse accepted %s as %+v", tt.doc, d)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *ParseError", err, err)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error does not wrap ErrMalformed")
			}
			if pe.Message != tt.message {
				t.Errorf("Message = %q, want %q", pe.Message, tt.message)
			}
			if !strings.Contains(pe.Detail, tt.detail) {
				t.Errorf("Detail = %q, want it to contain %q", pe.Detail, tt.detail)
			}
		})
	}
}

func TestParseResourceFormsAccepted(t *testing.T) {
	for _, r := range []string{
		"*",
		"arn:aws:s3:::bucket",
		"arn:aws:s3:::bucket/*",
		"arn:aws-cn:s3:::bucket",
		"arn:aws-us-gov:ec2:us-gov-west-1:123456789012:instance/*",
		"arn:aws*:ec2:*:*:instance/*",
		"arn:aws:ec2:*",
		"arn:aws:logs:us-east-1:123456789012:log-group:my-group:*",
		"arn:aws:iam::123456789012:*",
		"arn:aws:iam::*:role/*",
		"arn:aws:iam::123456789012:user/${aws:username}",
		"arn:aws:iam::aws:policy/ReadOnlyAccess",
		"arn:aws:s3:us-west-2:123456789012:accesspoint/ap",
		"arn:aws:execute-api:us-east-1:123456789012:api/stage/GET/*",
	} {
		if _, err := Parse(stmt(`{"Effect":"Allow","Action":"*","Resource":` + quote(r) + `}`)); err != nil {
			t.Errorf("Resource %q: %v", r, err)
		}
	}
}

func TestParseActionFormsAccepted(t *testing.T) {
	for _, a := range []string{"*", "s3:*", "ecs:Describe*", "ec2:*Instance?", "execute-api:Invoke", "iam:PassRole", "sts:AssumeRoleWithWebIdentity", "s3:Get_Object-x"} {
		if _, err := Parse(stmt(`{"Effect":"Allow","Action":` + quote(a) + `,"Resource":"*"}`)); err != nil {
			t.Errorf("Action %q: %v", a, err)
		}
	}
}

func TestParseConditionValuesAccepted(t *testing.T) {
	for _, c := range []string{
		`{"DateGreaterThan":{"aws:CurrentTime":"2019-07-16T12:00:00Z"}}`,
		`{"DateLessThan":{"aws:CurrentTime":"2019-07-16"}}`,
		`{"DateLessThan":{"aws:CurrentTime":"2019"}}`,
		`{"DateLessThan":{"aws:CurrentTime":1563278400}}`,
		`{"DateLessThan":{"aws:CurrentTime":"2019-07-16T12:00:00.123+02:00"}}`,
		`{"DateEquals":{"aws:CurrentTime":"2020-02-29T23:59"}}`,
		`{"NumericLessThan":{"s3:max-keys":["10","-1.5",2]}}`,
		`{"Bool":{"aws:SecureTransport":["true","False"]}}`,
		`{"Null":{"aws:TokenIssueTime":true}}`,
		`{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:DB8:1234:5678::/64","198.51.100.7"]}}`,
		`{"BinaryEquals":{"key:k":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}`,
		`{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:123456789012:topic"}}`,
		`{"StringLike":{"s3:prefix":["${aws:username}/*",""]}}`,
		`{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]},"ForAnyValue:StringNotLikeIfExists":{"aws:TagKeys":"x*"}}`,
		`{"NullIfExists":{"aws:TokenIssueTime":"false"}}`,
		`{"StringEquals":{"aws:ResourceTag/aws:cloudformation:stack-name":"s"}}`,
	} {
		if _, err := Parse(stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":` + c + `}`)); err != nil {
			t.Errorf("Condition %s: %v", c, err)
		}
	}
}

func TestParseSizeGuard(t *testing.T) {
	doc := stmt(`{"Effect":"Allow","Action":"*","Resource":"*"}`) + strings.Repeat(" ", MaxDocumentBytes)
	_, err := Parse(doc)
	var se *SizeError
	if !errors.As(err, &se) || !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Parse of %d bytes: %v, want a SizeError", len(doc), err)
	}
}

func TestParseErrorText(t *testing.T) {
	_, err := Parse(stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Foo":1}`))
	if got, want := err.Error(), "Syntax errors in policy. (statement 1: unknown field Foo)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var pe *ParseError
	if errors.As(err, &pe); pe.Statement != 1 {
		t.Errorf("Statement = %d, want 1", pe.Statement)
	}
}

func quote(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for _, r := range s {
		if r == '"' || r == '\\' {
			sb.WriteByte('\\')
		}
		sb.WriteRune(r)
	}
	sb.WriteByte('"')
	return sb.String()
}
