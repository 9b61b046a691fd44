package policy

import (
	"testing"
	"time"
)

type ctx = map[string][]string

func TestConditionOperators(t *testing.T) {
	tests := []struct {
		name   string
		op     string
		key    string
		values []string
		ctx    ctx
		want   bool
	}{
		// String.
		{"StringEquals match", "StringEquals", "aws:username", []string{"alice"}, ctx{"aws:username": {"alice"}}, true},
		{"StringEquals case", "StringEquals", "aws:username", []string{"Alice"}, ctx{"aws:username": {"alice"}}, false},
		{"StringEquals OR of values", "StringEquals", "aws:username", []string{"bob", "alice"}, ctx{"aws:username": {"alice"}}, true},
		{"StringEquals no wildcard", "StringEquals", "aws:username", []string{"a*"}, ctx{"aws:username": {"alice"}}, false},
		{"StringEquals key case-insensitive", "StringEquals", "AWS:UserName", []string{"alice"}, ctx{"aws:username": {"alice"}}, true},
		{"StringEquals missing key", "StringEquals", "aws:username", []string{"alice"}, ctx{}, false},
		{"StringNotEquals match", "StringNotEquals", "aws:username", []string{"alice"}, ctx{"aws:username": {"alice"}}, false},
		{"StringNotEquals other", "StringNotEquals", "aws:username", []string{"alice"}, ctx{"aws:username": {"bob"}}, true},
		{"StringNotEquals NOR of values", "StringNotEquals", "aws:username", []string{"bob", "alice"}, ctx{"aws:username": {"alice"}}, false},
		{"StringNotEquals missing key", "StringNotEquals", "aws:username", []string{"alice"}, ctx{}, true},
		{"StringEqualsIgnoreCase", "StringEqualsIgnoreCase", "aws:username", []string{"ALICE"}, ctx{"aws:username": {"alice"}}, true},
		{"StringNotEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "aws:username", []string{"ALICE"}, ctx{"aws:username": {"alice"}}, false},
		{"StringNotEqualsIgnoreCase other", "StringNotEqualsIgnoreCase", "aws:username", []string{"ALICE"}, ctx{"aws:username": {"bob"}}, true},
		{"StringLike star", "StringLike", "s3:prefix", []string{"home/*"}, ctx{"s3:prefix": {"home/alice/x"}}, true},
		{"StringLike question", "StringLike", "s3:prefix", []string{"home/?"}, ctx{"s3:prefix": {"home/a"}}, true},
		{"StringLike no partial", "StringLike", "s3:prefix", []string{"home"}, ctx{"s3:prefix": {"home/a"}}, false},
		{"StringLike case", "StringLike", "s3:prefix", []string{"Home/*"}, ctx{"s3:prefix": {"home/a"}}, false},
		{"StringLike empty value", "StringLike", "s3:prefix", []string{""}, ctx{"s3:prefix": {""}}, true},
		{"StringNotLike", "StringNotLike", "s3:prefix", []string{"home/*"}, ctx{"s3:prefix": {"tmp/a"}}, true},
		{"StringNotLike matched", "StringNotLike", "s3:prefix", []string{"home/*"}, ctx{"s3:prefix": {"home/a"}}, false},
		{"StringNotLike missing", "StringNotLike", "s3:prefix", []string{"home/*"}, ctx{}, true},
		// Numeric.
		{"NumericEquals", "NumericEquals", "s3:max-keys", []string{"10"}, ctx{"s3:max-keys": {"10.0"}}, true},
		{"NumericEquals no", "NumericEquals", "s3:max-keys", []string{"10"}, ctx{"s3:max-keys": {"11"}}, false},
		{"NumericNotEquals", "NumericNotEquals", "s3:max-keys", []string{"10"}, ctx{"s3:max-keys": {"11"}}, true},
		{"NumericNotEquals missing", "NumericNotEquals", "s3:max-keys", []string{"10"}, ctx{}, true},
		{"NumericLessThan", "NumericLessThan", "s3:max-keys", []string{"10"}, ctx{"s3:max-keys": {"9.5"}}, true},
		{"NumericLessThan equal", "NumericLessThan", "s3:max-keys", []string{"10"}, ctx{"s3:max-keys": {"10"}}, false},
		{"NumericLessThanEquals", "NumericLessThanEquals", "s3:max-keys", []string{"10"}, ctx{"s3:max-keys": {"10"}}, true},
		{"NumericGreaterThan", "NumericGreaterThan", "s3:max-keys", []string{"10"}, ctx{"s3:max-keys": {"11"}}, true},
		{"NumericGreaterThan negative", "NumericGreaterThan", "s3:max-keys", []string{"-1"}, ctx{"s3:max-keys": {"0"}}, true},
		{"NumericGreaterThanEquals", "NumericGreaterThanEquals", "s3:max-keys", []string{"10"}, ctx{"s3:max-keys": {"9"}}, false},
		{"Numeric large exact", "NumericLessThan", "k:n", []string{"9007199254740993"}, ctx{"k:n": {"9007199254740992"}}, true},
		{"Numeric unreadable context", "NumericLessThan", "s3:max-keys", []string{"10"}, ctx{"s3:max-keys": {"few"}}, false},
		{"Numeric missing", "NumericLessThan", "s3:max-keys", []string{"10"}, ctx{}, false},
		// Date.
		{"DateGreaterThan", "DateGreaterThan", "aws:CurrentTime", []string{"2020-01-01T00:00:00Z"}, ctx{"aws:CurrentTime": {"2021-06-01T12:00:00Z"}}, true},
		{"DateGreaterThan before", "DateGreaterThan", "aws:CurrentTime", []string{"2020-01-01T00:00:00Z"}, ctx{"aws:CurrentTime": {"2019-12-31T23:59:59Z"}}, false},
		{"DateLessThan date only", "DateLessThan", "aws:CurrentTime", []string{"2020-01-01"}, ctx{"aws:CurrentTime": {"2019-12-31T23:59:59Z"}}, true},
		{"DateEquals zones", "DateEquals", "aws:CurrentTime", []string{"2020-01-01T02:00:00+02:00"}, ctx{"aws:CurrentTime": {"2020-01-01T00:00:00Z"}}, true},
		{"DateEquals epoch", "DateEquals", "aws:CurrentTime", []string{"1577836800"}, ctx{"aws:CurrentTime": {"2020-01-01T00:00:00Z"}}, true},
		{"DateNotEquals", "DateNotEquals", "aws:CurrentTime", []string{"1577836800"}, ctx{"aws:CurrentTime": {"2020-01-01T00:00:01Z"}}, true},
		{"DateNotEquals missing", "DateNotEquals", "aws:CurrentTime", []string{"1577836800"}, ctx{}, true},
		{"DateLessThanEquals", "DateLessThanEquals", "aws:CurrentTime", []string{"2020-01-01T00:00:00Z"}, ctx{"aws:CurrentTime": {"1577836800"}}, true},
		{"DateGreaterThanEquals fraction", "DateGreaterThanEquals", "aws:CurrentTime", []string{"2020-01-01T00:00:00.5Z"}, ctx{"aws:CurrentTime": {"2020-01-01T00:00:00.499Z"}}, false},
		{"Date missing: no clock is read", "DateLessThan", "aws:CurrentTime", []string{"2999-01-01T00:00:00Z"}, ctx{}, false},
		// Bool.
		{"Bool true", "Bool", "aws:SecureTransport", []string{"true"}, ctx{"aws:SecureTransport": {"true"}}, true},
		{"Bool case", "Bool", "aws:SecureTransport", []string{"true"}, ctx{"aws:SecureTransport": {"TRUE"}}, true},
		{"Bool false", "Bool", "aws:SecureTransport", []string{"false"}, ctx{"aws:SecureTransport": {"true"}}, false},
		{"Bool missing", "Bool", "aws:MultiFactorAuthPresent", []string{"false"}, ctx{}, false},
		{"BoolIfExists missing", "BoolIfExists", "aws:MultiFactorAuthPresent", []string{"false"}, ctx{}, true},
		// Binary.
		{"BinaryEquals", "BinaryEquals", "k:bin", []string{"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}, ctx{"k:bin": {"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}, true},
		{"BinaryEquals differs", "BinaryEquals", "k:bin", []string{"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}, ctx{"k:bin": {"QUJD"}}, false},
		// IP.
		{"IpAddress v4 CIDR", "IpAddress", "aws:SourceIp", []string{"203.0.113.0/24"}, ctx{"aws:SourceIp": {"203.0.113.77"}}, true},
		{"IpAddress v4 outside", "IpAddress", "aws:SourceIp", []string{"203.0.113.0/24"}, ctx{"aws:SourceIp": {"203.0.114.1"}}, false},
		{"IpAddress single", "IpAddress", "aws:SourceIp", []string{"203.0.113.7"}, ctx{"aws:SourceIp": {"203.0.113.7"}}, true},
		{"IpAddress unmasked CIDR", "IpAddress", "aws:SourceIp", []string{"203.0.113.9/24"}, ctx{"aws:SourceIp": {"203.0.113.200"}}, true},
		{"IpAddress v6", "IpAddress", "aws:SourceIp", []string{"2001:DB8:1234:5678::/64"}, ctx{"aws:SourceIp": {"2001:db8:1234:5678::9"}}, true},
		{"IpAddress v6 outside", "IpAddress", "aws:SourceIp", []string{"2001:DB8:1234:5678::/64"}, ctx{"aws:SourceIp": {"2001:db8:1234:5679::9"}}, false},
		{"IpAddress family mismatch", "IpAddress", "aws:SourceIp", []string{"0.0.0.0/0"}, ctx{"aws:SourceIp": {"::1"}}, false},
		{"IpAddress mapped v4", "IpAddress", "aws:SourceIp", []string{"10.0.0.0/8"}, ctx{"aws:SourceIp": {"::ffff:10.1.2.3"}}, true},
		{"IpAddress list", "IpAddress", "aws:SourceIp", []string{"10.0.0.0/8", "192.0.2.0/24"}, ctx{"aws:SourceIp": {"192.0.2.1"}}, true},
		{"IpAddress unreadable", "IpAddress", "aws:SourceIp", []string{"10.0.0.0/8"}, ctx{"aws:SourceIp": {"nope"}}, false},
		{"NotIpAddress", "NotIpAddress", "aws:SourceIp", []string{"10.0.0.0/8"}, ctx{"aws:SourceIp": {"192.0.2.1"}}, true},
		{"NotIpAddress inside", "NotIpAddress", "aws:SourceIp", []string{"10.0.0.0/8"}, ctx{"aws:SourceIp": {"10.9.9.9"}}, false},
		{"NotIpAddress missing", "NotIpAddress", "aws:SourceIp", []string{"10.0.0.0/8"}, ctx{}, true},
		// ARN.
		{"ArnLike", "ArnLike", "aws:SourceArn", []string{"arn:aws:sns:*:123456789012:topic"}, ctx{"aws:SourceArn": {"arn:aws:sns:eu-west-1:123456789012:topic"}}, true},
		{"ArnEquals wildcard", "ArnEquals", "aws:SourceArn", []string{"arn:aws:sns:*:123456789012:topic"}, ctx{"aws:SourceArn": {"arn:aws:sns:eu-west-1:123456789012:topic"}}, true},
		{"ArnEquals exact", "ArnEquals", "aws:SourceArn", []string{"arn:aws:sns:eu-west-1:123456789012:topic"}, ctx{"aws:SourceArn": {"arn:aws:sns:eu-west-1:123456789012:topic"}}, true},
		{"ArnLike segment", "ArnLike", "aws:SourceArn", []string{"arn:aws:sns:eu-*:123456789012:topic"}, ctx{"aws:SourceArn": {"arn:aws:sns:us-east-1:123456789012:topic"}}, false},
		{"ArnLike case", "ArnLike", "aws:PrincipalArn", []string{"arn:aws:iam::123456789012:role/Admin"}, ctx{"aws:PrincipalArn": {"arn:aws:iam::123456789012:role/admin"}}, false},
		{"ArnNotLike", "ArnNotLike", "aws:PrincipalArn", []string{"arn:aws:iam::*:role/admin"}, ctx{"aws:PrincipalArn": {"arn:aws:iam::123456789012:role/dev"}}, true},
		{"ArnNotEquals matched", "ArnNotEquals", "aws:PrincipalArn", []string{"arn:aws:iam::*:role/admin"}, ctx{"aws:PrincipalArn": {"arn:aws:iam::123456789012:role/admin"}}, false},
		{"ArnNotLike missing", "ArnNotLike", "aws:PrincipalArn", []string{"arn:aws:iam::*:role/admin"}, ctx{}, true},
		// Null.
		{"Null true absent", "Null", "aws:TokenIssueTime", []string{"true"}, ctx{}, true},
		{"Null true present", "Null", "aws:TokenIssueTime", []string{"true"}, ctx{"aws:TokenIssueTime": {"2020-01-01T00:00:00Z"}}, false},
		{"Null false present", "Null", "aws:TokenIssueTime", []string{"false"}, ctx{"aws:TokenIssueTime": {"2020-01-01T00:00:00Z"}}, true},
		{"Null false absent", "Null", "aws:TokenIssueTime", []string{"false"}, ctx{}, false},
		{"Null empty list is absent", "Null", "aws:TagKeys", []string{"true"}, ctx{"aws:TagKeys": {}}, true},
		{"Null bool spelled", "Null", "aws:TokenIssueTime", []string{"TRUE"}, ctx{}, true},
		// IfExists.
		{"IfExists missing", "StringEqualsIfExists", "ec2:InstanceType", []string{"t3.micro"}, ctx{}, true},
		{"IfExists present match", "StringEqualsIfExists", "ec2:InstanceType", []string{"t3.micro"}, ctx{"ec2:InstanceType": {"t3.micro"}}, true},
		{"IfExists present no match", "StringEqualsIfExists", "ec2:InstanceType", []string{"t3.micro"}, ctx{"ec2:InstanceType": {"m5.large"}}, false},
		{"negated IfExists missing", "StringNotEqualsIfExists", "ec2:InstanceType", []string{"t3.micro"}, ctx{}, true},
		{"NumericIfExists missing", "NumericLessThanIfExists", "s3:max-keys", []string{"10"}, ctx{}, true},
		// Multi-valued context without a qualifier.
		{"positive, any value matches", "StringEquals", "aws:TagKeys", []string{"a"}, ctx{"aws:TagKeys": {"b", "a"}}, true},
		{"negated, some value matches", "StringNotEquals", "aws:TagKeys", []string{"a"}, ctx{"aws:TagKeys": {"b", "a"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := parseOperator(tt.op); !ok {
				t.Fatalf("operator %s does not parse", tt.op)
			}
			c := Condition{Operator: tt.op, Key: tt.key, Values: tt.values}
			if got := c.holds(newEvalContext(&Request{Context: tt.ctx}), true); got != tt.want {
				t.Errorf("%s %s %v against %v = %v, want %v", tt.op, tt.key, tt.values, tt.ctx, got, tt.want)
			}
		})
	}
}

// The tables IAM's documentation gives for the set operators.
func TestConditionSetQualifiers(t *testing.T) {
	tests := []struct {
		name   string
		op     string
		values []string
		keys   []string // aws:TagKeys in the request; nil means absent
		want   bool
	}{
		// ForAllValues: every request value must match some policy value.
		{"ForAllValues subset", "ForAllValues:StringEquals", []string{"a", "b", "c"}, []string{"a", "b"}, true},
		{"ForAllValues not subset", "ForAllValues:StringEquals", []string{"a", "b"}, []string{"a", "x"}, false},
		{"ForAllValues absent key", "ForAllValues:StringEquals", []string{"a"}, nil, true},
		{"ForAllValues empty list", "ForAllValues:StringEquals", []string{"a"}, []string{}, true},
		{"ForAllValues like", "ForAllValues:StringLike", []string{"Created*"}, []string{"CreatedBy", "CreatedAt"}, true},
		// From the documentation: Deny unless every tag key starts with key1.
		{"ForAllValues:StringNotLike key1:legal", "ForAllValues:StringNotLike", []string{"key1*"}, []string{"key1:legal"}, false},
		{"ForAllValues:StringNotLike key1 pair", "ForAllValues:StringNotLike", []string{"key1*"}, []string{"key1:hr", "key1:personnel"}, false},
		{"ForAllValues:StringNotLike key2", "ForAllValues:StringNotLike", []string{"key1*"}, []string{"key2:audit"}, true},
		{"ForAllValues:StringNotLike mixed", "ForAllValues:StringNotLike", []string{"key1*"}, []string{"key1:hr", "key2:audit"}, false},
		{"ForAllValues:StringNotLike absent", "ForAllValues:StringNotLike", []string{"key1*"}, nil, true},
		// ForAnyValue: at least one request value must match.
		{"ForAnyValue one", "ForAnyValue:StringEquals", []string{"a"}, []string{"x", "a"}, true},
		{"ForAnyValue none", "ForAnyValue:StringEquals", []string{"a"}, []string{"x", "y"}, false},
		{"ForAnyValue absent", "ForAnyValue:StringEquals", []string{"a"}, nil, false},
		{"ForAnyValue IfExists absent", "ForAnyValue:StringEqualsIfExists", []string{"a"}, nil, true},
		{"ForAllValues IfExists absent", "ForAllValues:StringEqualsIfExists", []string{"a"}, nil, true},
		{"ForAnyValue:StringNotEquals some other", "ForAnyValue:StringNotEquals", []string{"a"}, []string{"a", "b"}, true},
		{"ForAnyValue:StringNotEquals all equal", "ForAnyValue:StringNotEquals", []string{"a"}, []string{"a"}, false},
		{"ForAnyValue:StringNotEquals absent", "ForAnyValue:StringNotEquals", []string{"a"}, nil, false},
		{"ForAnyValue:StringLike", "ForAnyValue:StringLike", []string{"team*"}, []string{"owner", "team-x"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ctx{}
			if tt.keys != nil {
				c["aws:TagKeys"] = tt.keys
			}
			cond := Condition{Operator: tt.op, Key: "aws:TagKeys", Values: tt.values}
			if got := cond.holds(newEvalContext(&Request{Context: c}), true); got != tt.want {
				t.Errorf("%s %v against %v = %v, want %v", tt.op, tt.values, tt.keys, got, tt.want)
			}
		})
	}
}

func TestConditionVariables(t *testing.T) {
	c := ctx{"aws:username": {"alice"}, "s3:prefix": {"home/alice/docs"}, "aws:PrincipalTag/team": {"blue"}, "aws:ResourceTag/team": {"blue"}}
	tests := []struct {
		name  string
		op    string
		key   string
		value string
		vars  bool
		want  bool
	}{
		{"StringLike with variable", "StringLike", "s3:prefix", "home/${aws:username}/*", true, true},
		{"StringLike variable other user", "StringLike", "s3:prefix", "home/${aws:username}x/*", true, false},
		{"tag equality", "StringEquals", "aws:ResourceTag/team", "${aws:PrincipalTag/team}", true, true},
		{"unresolvable does not match", "StringEquals", "aws:ResourceTag/team", "${aws:PrincipalTag/missing}", true, false},
		{"unresolvable, negated", "StringNotEquals", "aws:ResourceTag/team", "${aws:PrincipalTag/missing}", true, true},
		{"default used", "StringEquals", "aws:ResourceTag/team", "${aws:PrincipalTag/missing, 'blue'}", true, true},
		{"2008: literal", "StringEquals", "aws:ResourceTag/team", "${aws:PrincipalTag/team}", false, false},
		{"2008: literal matches literal", "StringLike", "s3:prefix", "home/${aws:username}/*", false, false},
		{"ArnLike variable", "ArnLike", "aws:PrincipalArn", "arn:aws:iam::*:user/${aws:username}", true, true},
		{"escaped star is literal", "StringLike", "s3:prefix", "home/${*}", true, false},
	}
	c["aws:PrincipalArn"] = []string{"arn:aws:iam::123456789012:user/alice"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cond := Condition{Operator: tt.op, Key: tt.key, Values: []string{tt.value}}
			if got := cond.holds(newEvalContext(&Request{Context: c}), tt.vars); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	utc := func(y, mo, d, h, mi, s, ns int) time.Time {
		return time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC)
	}
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2019-07-16T12:00:00Z", utc(2019, 7, 16, 12, 0, 0, 0), true},
		{"2019-07-16t12:00:00z", utc(2019, 7, 16, 12, 0, 0, 0), true},
		{"2019-07-16T12:00:00", utc(2019, 7, 16, 12, 0, 0, 0), true},
		{"2019-07-16T12:00:00.25Z", utc(2019, 7, 16, 12, 0, 0, 250000000), true},
		{"2019-07-16T12:00:00+02:00", utc(2019, 7, 16, 10, 0, 0, 0), true},
		{"2019-07-16T12:00:00-0130", utc(2019, 7, 16, 13, 30, 0, 0), true},
		{"2019-07-16T12:00+02", utc(2019, 7, 16, 10, 0, 0, 0), true},
		{"2019-07-16T12", utc(2019, 7, 16, 12, 0, 0, 0), true},
		{"2019-07-16", utc(2019, 7, 16, 0, 0, 0, 0), true},
		{"2019-07", utc(2019, 7, 1, 0, 0, 0, 0), true},
		{"1563278400", utc(2019, 7, 16, 12, 0, 0, 0), true},
		{"0", utc(1970, 1, 1, 0, 0, 0, 0), true},
		{"2020-02-29", utc(2020, 2, 29, 0, 0, 0, 0), true},
		{"2019-02-29", time.Time{}, false},
		{"2019-7-16", time.Time{}, false},
		{"2019-07-16T24:00:00Z", time.Time{}, false},
		{"2019-07-16T12:60:00Z", time.Time{}, false},
		{"2019-07-16T12:00:00.Z", time.Time{}, false},
		{"2019-07-16T12:00:00Zjunk", time.Time{}, false},
		{"2019-07-16 12:00:00Z", time.Time{}, false},
		{"-1", time.Time{}, false},
		{"", time.Time{}, false},
		{"1234567890123456789", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := parseDate(tt.in)
		if ok != tt.ok || ok && !got.Equal(tt.want) {
			t.Errorf("parseDate(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseNumber(t *testing.T) {
	for in, ok := range map[string]bool{
		"10": true, "-10": true, "+10": true, "1.5": true, "0.0001": true, ".5": true, "5.": true,
		"": false, "-": false, ".": false, "1e5": false, "0x10": false, "1.2.3": false, " 1": false, "NaN": false, "--1": false,
	} {
		if _, got := parseNumber(in); got != ok {
			t.Errorf("parseNumber(%q) ok = %v, want %v", in, got, ok)
		}
	}
}
