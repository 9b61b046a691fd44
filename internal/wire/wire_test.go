package wire_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api/iamapi"
	"github.com/wharfhq/wharf/api/models"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/wire"
)

func TestValidateMessages(t *testing.T) {
	m := models.MustLoad("iam")
	shape := m.Operations["CreateUser"].Input.Shape
	cases := []struct {
		name string
		in   map[string]any
		want string // "" = valid
	}{
		{"ok", map[string]any{"UserName": "alice"}, ""},
		{"missing", map[string]any{}, "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null"},
		{"pattern", map[string]any{"UserName": "a b"}, "Value 'a b' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"},
		{"too long", map[string]any{"UserName": strings.Repeat("a", 65)}, "Member must have length less than or equal to 64"},
		{"three", map[string]any{"UserName": "", "Path": "nopath"}, "3 validation errors detected: Value 'nopath' at 'path'"},
		{"nested list", map[string]any{"UserName": "a", "Tags": []any{map[string]any{"Key": "k"}}}, "Value null at 'tags.1.member.value' failed to satisfy constraint: Member must not be null"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := wire.Validate(shape, c.in)
			if c.want == "" {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestValidateRangesAndEnums(t *testing.T) {
	m := models.MustLoad("iam")
	shape := m.Operations["CreateRole"].Input.Shape
	err := wire.Validate(shape, map[string]any{"RoleName": "r", "AssumeRolePolicyDocument": "{}", "MaxSessionDuration": int64(60)})
	if err == nil || !strings.Contains(err.Error(), "Value '60' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600") {
		t.Fatalf("range: %v", err)
	}
	shape = m.Operations["UpdateAccessKey"].Input.Shape
	err = wire.Validate(shape, map[string]any{"AccessKeyId": "AKIAAAAAAAAAAAAAAAAA", "Status": "Sleeping"})
	if err == nil || !strings.Contains(err.Error(), "Member must satisfy enum value set: [Active, Inactive, Expired]") {
		t.Fatalf("enum: %v", err)
	}
}

func TestTreeRoundTrip(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	out := &iamapi.CreateUserResponse{User: &iamapi.User{UserName: ptr.To("bob"), CreateDate: &created,
		Tags: []iamapi.Tag{{Key: ptr.To("team"), Value: ptr.To("a")}}}}
	tree := wire.ToTree(out).(map[string]any)
	var back iamapi.CreateUserResponse
	if err := wire.FromTree(tree, &back); err != nil {
		t.Fatal(err)
	}
	if ptr.Value(back.User.UserName) != "bob" || !back.User.CreateDate.Equal(created) || ptr.Value(back.User.Tags[0].Value) != "a" {
		t.Fatalf("round trip: %+v", back.User)
	}
	if _, ok := tree["User"].(map[string]any)["Path"]; ok {
		t.Fatal("absent members must stay absent")
	}
}

func TestFromTreeMismatch(t *testing.T) {
	var in iamapi.CreateRoleRequest
	err := wire.FromTree(map[string]any{"MaxSessionDuration": "long"}, &in)
	if !errors.Is(err, wire.ErrShape) {
		t.Fatalf("want ErrShape, got %v", err)
	}
	err = wire.FromTree(map[string]any{"MaxSessionDuration": int64(1) << 40}, &in)
	if !errors.Is(err, wire.ErrShape) {
		t.Fatalf("int32 overflow: want ErrShape, got %v", err)
	}
}

func TestAdapt(t *testing.T) {
	h := wire.Adapt(func(ctx context.Context, in *iamapi.GetUserRequest) (*iamapi.GetUserResponse, error) {
		return &iamapi.GetUserResponse{User: &iamapi.User{UserName: in.UserName}}, nil
	})
	out, err := h(context.Background(), map[string]any{"UserName": "carol"})
	if err != nil {
		t.Fatal(err)
	}
	if out["User"].(map[string]any)["UserName"] != "carol" {
		t.Fatalf("out = %v", out)
	}
}
