package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateIdentityPolicy(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		message string // "" when valid
	}{
		{"valid", stmt(`{"Sid":"A1","Effect":"Allow","Action":"*","Resource":"*"}`), ""},
		{"NotResource counts", stmt(`{"Effect":"Allow","Action":"*","NotResource":"arn:aws:s3:::b"}`), ""},
		{"principal", stmt(`{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}`), msgHasPrincipal},
		{"not principal", stmt(`{"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"*","Resource":"*"}`), msgHasPrincipal},
		{"no resource", stmt(`{"Effect":"Allow","Action":"*"}`), msgNoResources},
		{"no resource in second", stmt(`{"Effect":"Allow","Action":"*","Resource":"*"}`, `{"Effect":"Allow","Action":"*"}`), msgNoResources},
		{"duplicate sid", stmt(`{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"}`, `{"Sid":"A","Effect":"Deny","Action":"*","Resource":"*"}`), msgSidUnique},
		{"empty sids may repeat", stmt(`{"Sid":"","Effect":"Allow","Action":"*","Resource":"*"}`, `{"Sid":"","Effect":"Deny","Action":"*","Resource":"*"}`), ""},
		{"sid with space", stmt(`{"Sid":"Allow all","Effect":"Allow","Action":"*","Resource":"*"}`), msgSidAlnum},
		{"sid with dash", stmt(`{"Sid":"allow-all","Effect":"Allow","Action":"*","Resource":"*"}`), msgSidAlnum},
		{"parse errors come first", stmt(`{"Effect":"Allow","Principal":"*","Resource":"*"}`), msgNoActions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ValidateIdentityPolicy(tt.doc, MaxManagedPolicySize)
			checkMessage(t, err, tt.message)
		})
	}
}

func TestValidateTrustPolicy(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		message string
	}{
		{"service", stmt(`{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}`), ""},
		{"star", stmt(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}`), ""},
		{"NotPrincipal counts", stmt(`{"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}`, `{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}`), ""},
		{"no principal", stmt(`{"Effect":"Allow","Action":"sts:AssumeRole"}`), msgNoPrincipal},
		{"resource", stmt(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}`), "Has prohibited field Resource"},
		{"not resource", stmt(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","NotResource":"*"}`), "Has prohibited field NotResource"},
		{"duplicate sid", stmt(`{"Sid":"X","Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}`, `{"Sid":"X","Effect":"Allow","Principal":"*","Action":"sts:TagSession"}`), msgSidUnique},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ValidateTrustPolicy(tt.doc, MaxTrustPolicySize)
			checkMessage(t, err, tt.message)
		})
	}
}

func checkMessage(t *testing.T, err error, message string) {
	t.Helper()
	if message == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v, want a ParseError %q", err, message)
	}
	if pe.Message != message {
		t.Errorf("Message = %q, want %q", pe.Message, message)
	}
}

func TestSizeLimits(t *testing.T) {
	doc := stmt(`{"Effect":"Allow","Action":"*","Resource":"*"}`)
	if got, want := Size(doc), len(doc); got != want {
		t.Errorf("Size = %d, want %d", got, want)
	}
	spaced := "{\n  \"Statement\" : {\t\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\" }\r\n}"
	if got, want := Size(spaced), len(`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`); got != want {
		t.Errorf("Size ignores whitespace: got %d, want %d", got, want)
	}
	if got := Size(`"é"`); got != 3 {
		t.Errorf("Size counts characters, not bytes: got %d", got)
	}

	// A document exactly at the limit passes; one character more fails,
	// and whitespace never counts.
	pad := func(n int) string {
		base := `{"Version":"2012-10-17","Statement":{"Sid":"","Effect":"Allow","Action":"*","Resource":"*"}}`
		return strings.Replace(base, `"Sid":""`, `"Sid":"`+strings.Repeat("a", n-Size(base))+`"`, 1)
	}
	for _, limit := range []int{MaxUserInlinePolicySize, MaxTrustPolicySize, MaxGroupInlinePolicySize, MaxManagedPolicySize, MaxRoleInlinePolicySize} {
		at := pad(limit)
		if Size(at) != limit {
			t.Fatalf("pad(%d) has size %d", limit, Size(at))
		}
		if _, err := ValidateIdentityPolicy(at+strings.Repeat(" ", 5000), limit); err != nil {
			t.Errorf("limit %d: document at the limit refused: %v", limit, err)
		}
		_, err := ValidateIdentityPolicy(pad(limit+1), limit)
		var se *SizeError
		if !errors.As(err, &se) || !errors.Is(err, ErrTooLarge) || se.Size != limit+1 || se.Limit != limit {
			t.Errorf("limit %d: over the limit gave %v", limit, err)
		}
	}
	if _, err := ValidateTrustPolicy(pad(MaxTrustPolicySize+1), MaxTrustPolicySize); !errors.Is(err, ErrTooLarge) {
		t.Errorf("trust policy over the limit: %v", err)
	}
	if _, err := ValidateIdentityPolicy(pad(MaxRoleInlinePolicySize+1), 0); err != nil {
		t.Errorf("no limit: %v", err)
	}
}
