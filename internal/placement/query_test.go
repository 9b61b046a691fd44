package placement

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		// Examples from the ECS cluster query language documentation.
		{"attribute:ecs.instance-type == t2.small", "attribute:ecs.instance-type == t2.small"},
		{"attribute:ecs.instance-type =~ t2.*", "attribute:ecs.instance-type =~ t2.*"},
		{"attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]"},
		{"attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d",
			"attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d"},
		{"ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']", "ec2InstanceId in [i-abcd1234, i-wxyx7890]"},
		{"task:group == service:production", "task:group == service:production"},
		{"not(task:group == database)", "not task:group == database"},
		{"attribute:stack exists", "attribute:stack exists"},
		{"runningTasksCount == 1", "runningTasksCount == 1"},
		{"registeredAt < 2018-06-18T22:28:28+00:00", "registeredAt < 2018-06-18T22:28:28+00:00"},
		{"agentVersion < 1.20.0", "agentVersion < 1.20.0"},
		{"agentConnected == false", "agentConnected == false"},
		{"attribute:ecs.instance-type =~ t2.* or attribute:ecs.instance-type =~ m4.*",
			"attribute:ecs.instance-type =~ t2.* or attribute:ecs.instance-type =~ m4.*"},
		// Prefix-less attributes, word operators, symbols and precedence.
		{"ecs.os-type == linux", "attribute:ecs.os-type == linux"},
		{"stack equals prod && tier not_equals web", "attribute:stack == prod and attribute:tier != web"},
		{"a greater_than 1 || b less_than_equal 2", "attribute:a > 1 or attribute:b <= 2"},
		{"a greater_than_equal 1 and b less_than 2", "attribute:a >= 1 and attribute:b < 2"},
		{"a !exists", "attribute:a !exists"},
		{"a not_exists", "attribute:a !exists"},
		{"a !in [x]", "attribute:a not_in [x]"},
		{"a not in [x,y]", "attribute:a not_in [x, y]"},
		{"a not_in [x]", "attribute:a not_in [x]"},
		{"a matches 'x|y' and b not_matches z", "attribute:a =~ 'x|y' and attribute:b !~ z"},
		{"a == 1 or b == 2 and c == 3", "attribute:a == 1 or attribute:b == 2 and attribute:c == 3"},
		{"(a == 1 or b == 2) and c == 3", "(attribute:a == 1 or attribute:b == 2) and attribute:c == 3"},
		{"a == 1 and (b == 2 and c == 3)", "attribute:a == 1 and (attribute:b == 2 and attribute:c == 3)"},
		{"!(a == 1) AND NOT b exists", "not attribute:a == 1 and not attribute:b exists"},
		{"not not a == 1", "not not attribute:a == 1"},
		{"a=='has space'", "attribute:a == 'has space'"},
		{`a == "it's"`, `attribute:a == 'it\'s'`},
		{`a =~ 't2\.(micro|small)'`, `attribute:a =~ 't2\.(micro|small)'`},
		{"a == ''", "attribute:a == ''"},
		{"a =~ t2.*|m4.* || b == c|", "attribute:a =~ 't2.*|m4.*' or attribute:b == 'c|'"},
		{"attribute:and == or", "attribute:and == or"},
	}
	for _, tt := range tests {
		e, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := e.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
		e2, err := Parse(e.String())
		if err != nil || e2.String() != e.String() {
			t.Errorf("round trip of %q: %v, %q", e.String(), err, e2)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "expression is empty"},
		{"   ", "expression is empty"},
		{strings.Repeat("a", MaxExpressionLength+1), "the maximum is 2000"},
		{"attribute:a", "expected an operator"},
		{"attribute:a ==", "expects a value"},
		{"attribute:a = b", "unexpected '='"},
		{"attribute:a in x", "expects a list"},
		{"attribute:a in [x", "expected ',' or ']'"},
		{"attribute:a in []", "expected a value in the list"},
		{"attribute:a == b and", "expected a subject"},
		{"attribute:a == b c", "unexpected \"c\" after a complete expression"},
		{"(attribute:a == b", "expected ')'"},
		{"attribute:a == b)", "unexpected \")\""},
		{"attribute: == b", "attribute name is empty"},
		{"attribute:a$b == c", "may contain only"},
		{"foo:bar == c", "unknown subject"},
		{"task:other == c", "unknown subject"},
		{"attribute:a like b", "unknown operator"},
		{"attribute:a ! b", "expected 'exists' or 'in'"},
		{"attribute:a not b", "expected 'in' after 'not'"},
		{"attribute:a =~ '('", "invalid regular expression"},
		{"attribute:a == 'open", "unterminated quoted string"},
		{"runningTasksCount == many", "non-negative integer"},
		{"runningTasksCount =~ 1", "cannot be used with"},
		{"registeredAt > yesterday", "registeredAt expects a date"},
		{"agentVersion > x.y", "agentVersion expects a version"},
		{"agentConnected == maybe", "true or false"},
		{"ec2InstanceId > i-1", "cannot be used with"},
		{"task:group > a", "cannot be used with"},
		{"a == b & c == d", "unexpected '&'"},
		{"a == \xff", "invalid UTF-8"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want error containing %q", tt.in, tt.want)
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("Parse(%q) error %T does not wrap ErrInvalidParameter as *SyntaxError", tt.in, err)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %q, want it to contain %q", tt.in, err, tt.want)
		}
	}
}

func TestMatches(t *testing.T) {
	reg := time.Date(2018, 6, 18, 22, 28, 28, 0, time.UTC)
	in := &Instance{
		ID: "ci-1", EC2InstanceID: "i-abcd1234", Status: StatusActive, AgentConnected: true,
		AgentVersion: "1.20.1", RegisteredAt: reg, RunningTasksCount: 3,
		Attributes: map[string]string{
			AttrAvailabilityZone: "us-east-1a", AttrInstanceType: "t2.micro", AttrOSType: "linux",
			AttrCPUArchitecture: "x86_64", AttrAMIID: "ami-1", "stack": "prod", "size": "10", "flag": "",
		},
		TaskGroups: map[string]int{"service:web": 2, "family:db": 1, "gone": 0},
	}
	tests := []struct {
		expr string
		want bool
	}{
		{"attribute:ecs.instance-type == t2.micro", true},
		{"ecs.instance-type == t2.micro", true},
		{"attribute:ecs.instance-type != t2.micro", false},
		{"attribute:ecs.instance-type =~ t2.*", true},
		{"attribute:ecs.instance-type =~ t2", false}, // whole-value match
		{"attribute:ecs.instance-type !~ m4.*", true},
		{"attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", true},
		{"attribute:ecs.availability-zone not_in [us-east-1a]", false},
		{"attribute:ecs.os-type == linux and attribute:ecs.cpu-architecture == x86_64", true},
		{"attribute:ecs.ami-id == ami-2 or stack == prod", true},
		{"attribute:missing != x", true},
		{"attribute:missing == x", false},
		{"attribute:missing in [x]", false},
		{"attribute:missing not_in [x]", true},
		{"attribute:missing =~ .*", false},
		{"attribute:missing !~ x", true},
		{"attribute:missing exists", false},
		{"attribute:missing !exists", true},
		{"attribute:flag exists", true},
		{"attribute:flag == ''", true},
		{"attribute:size > 9", true}, // numeric, not lexical ("10" < "9")
		{"attribute:size >= 10.0", true},
		{"attribute:size < 9", false},
		{"attribute:size <= 10", true},
		{"attribute:stack > pra", true}, // lexical
		{"attribute:stack < prod", false},
		{"attribute:missing > 1", false},
		{"ec2InstanceId == i-abcd1234", true},
		{"ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']", true},
		{"ec2InstanceId =~ i-.*", true},
		{"ec2InstanceId !~ i-.*", false},
		{"agentConnected == true", true},
		{"agentConnected != true", false},
		{"agentVersion >= 1.20.0", true},
		{"agentVersion < 1.3.0", false},
		{"agentVersion == 1.20.1", true},
		{"registeredAt < 2018-06-19", true},
		{"registeredAt == 2018-06-18", true}, // a bare date is a day
		{"registeredAt != 2018-06-18", false},
		{"registeredAt > 2018-06-18T22:28:28Z", false},
		{"registeredAt >= 2018-06-18T22:28:28", true},
		{"registeredAt <= 2018-06-18T23:28:28+01:00", true},
		{"runningTasksCount == 3", true},
		{"runningTasksCount > 3", false},
		{"runningTasksCount <= 3", true},
		{"task:group == service:web", true},
		{"task:group == gone", false},
		{"task:group != service:web", false},
		{"task:group in [service:api, family:db]", true},
		{"task:group not_in [service:api]", true},
		{"task:group =~ service:.*", true},
		{"task:group !~ family:.*", false},
		{"task:group exists", true},
		{"task:group !exists", false},
		{"not (task:group == database)", true},
		{"!(attribute:stack == prod) || attribute:stack == dev", false},
		{"attribute:stack == dev or attribute:stack == prod and runningTasksCount == 3", true},
		{"(attribute:stack == dev or attribute:stack == prod) and runningTasksCount == 4", false},
	}
	for _, tt := range tests {
		e, err := Parse(tt.expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.expr, err)
			continue
		}
		if got := e.Matches(in); got != tt.want {
			t.Errorf("%q matches = %v, want %v", tt.expr, got, tt.want)
		}
	}
	empty := &Instance{}
	if !MustParse("task:group !exists").Matches(empty) || MustParse("agentVersion == 1.0").Matches(empty) {
		t.Error("empty instance: task:group !exists must hold and agentVersion == 1.0 must not")
	}
}

func TestDynamic(t *testing.T) {
	for expr, want := range map[string]bool{
		"attribute:a == b":                          false,
		"ec2InstanceId == i-1":                      false,
		"task:group == x":                           true,
		"attribute:a == b or runningTasksCount < 3": true,
	} {
		if got := MustParse(expr).Dynamic(); got != want {
			t.Errorf("%q Dynamic() = %v, want %v", expr, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
		"not(task:group == database)",
		"ec2InstanceId in ['i-abcd1234', \"i-wxyx7890\"]",
		"registeredAt < 2018-06-18T22:28:28+00:00 || runningTasksCount >= 2",
		"a !exists && b not in [x] and (c matches 'x|y' or d !~ z)",
		"agentVersion < 1.20.0 and agentConnected == true",
		`a == 'it\'s \\ fine'`,
		"((a == 1))",
	} {
		f.Add(s)
	}
	in := &Instance{
		EC2InstanceID: "i-1", AgentConnected: true, AgentVersion: "1.2.3", RunningTasksCount: 2,
		Attributes: map[string]string{"a": "1", "b": "x", "ecs.instance-type": "t2.micro"},
		TaskGroups: map[string]int{"database": 1},
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			if !errors.Is(err, ErrInvalidParameter) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrInvalidParameter", src, err)
			}
			return
		}
		s := e.String()
		e2, err := Parse(s)
		if err != nil {
			if len(s) > MaxExpressionLength {
				return // canonical form may be longer than the input
			}
			t.Fatalf("canonical %q of %q does not parse: %v", s, src, err)
		}
		if s2 := e2.String(); s2 != s {
			t.Fatalf("round trip unstable: %q -> %q -> %q", src, s, s2)
		}
		if e.Matches(in) != e2.Matches(in) {
			t.Fatalf("%q and its canonical form %q disagree", src, s)
		}
	})
}
