package policy

import "testing"

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := Parse(selfManagePolicy); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvaluate(b *testing.B) {
	docs := []*Document{mustParse(b, adminPolicy), mustParse(b, denyOutsideRegionPolicy), mustParse(b, selfManagePolicy)}
	req := Request{
		Action:   "iam:CreateAccessKey",
		Resource: "arn:aws:iam::123456789012:user/alice",
		Context:  map[string][]string{"aws:username": {"alice"}, "aws:MultiFactorAuthPresent": {"true"}, "aws:RequestedRegion": {"eu-west-1"}},
	}
	for b.Loop() {
		if !Evaluate(req, docs...).Allowed() {
			b.Fatal("denied")
		}
	}
}
