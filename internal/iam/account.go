package iam

import (
	"context"

	"github.com/wharfhq/wharf/api/iamapi"
	"github.com/wharfhq/wharf/internal/policy"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/wire"
)

// GetAccountSummary reports the account's entity counts and IAM quotas.
func (s *Service) GetAccountSummary(ctx context.Context, _ *wire.Empty) (*iamapi.GetAccountSummaryResponse, error) {
	m := map[string]int32{
		"UsersQuota":                        5000,
		"GroupsQuota":                       300,
		"RolesQuota":                        1000,
		"PoliciesQuota":                     1500,
		"AccessKeysPerUserQuota":            maxKeysPerUser,
		"GroupsPerUserQuota":                maxGroupsPerUser,
		"AttachedPoliciesPerUserQuota":      maxAttached,
		"AttachedPoliciesPerGroupQuota":     maxAttached,
		"AttachedPoliciesPerRoleQuota":      maxAttached,
		"PolicySizeQuota":                   policy.MaxManagedPolicySize,
		"UserPolicySizeQuota":               policy.MaxUserInlinePolicySize,
		"GroupPolicySizeQuota":              policy.MaxGroupInlinePolicySize,
		"RolePolicySizeQuota":               policy.MaxRoleInlinePolicySize,
		"AssumeRolePolicySizeQuota":         policy.MaxTrustPolicySize,
		"VersionsPerPolicyQuota":            maxPolicyVersions,
		"PolicyVersionsInUseQuota":          10000,
		"ServerCertificatesQuota":           20,
		"InstanceProfilesQuota":             1000,
		"SigningCertificatesPerUserQuota":   2,
		"MFADevices":                        0,
		"MFADevicesInUse":                   0,
		"AccountMFAEnabled":                 0,
		"AccountSigningCertificatesPresent": 0,
		"ServerCertificates":                0,
		"InstanceProfiles":                  0,
		"Providers":                         0,
		"GlobalEndpointTokenVersion":        1,
	}
	err := s.view(ctx, func(tx store.Tx, _ string) error {
		for name, prefix := range map[string]string{"Users": "user/", "Groups": "group/", "Roles": "role/", "Policies": "policy/"} {
			n, err := tx.Count(tblIAM, prefix)
			if err != nil {
				return err
			}
			m[name] = int32(n)
		}
		roots, err := tx.Count(tblIAM, rootKeyPrefix)
		if err != nil {
			return err
		}
		m["AccountAccessKeysPresent"] = int32(min(roots, 1))
		attached, err := tx.Count(tblIAM, "attachment/")
		if err != nil {
			return err
		}
		m["PolicyVersionsInUse"] = int32(attached)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.GetAccountSummaryResponse{SummaryMap: m}, nil
}

// ListAccountAliases lists the account's aliases: Wharf accounts have none.
func (s *Service) ListAccountAliases(ctx context.Context, _ *iamapi.ListAccountAliasesRequest) (*iamapi.ListAccountAliasesResponse, error) {
	return &iamapi.ListAccountAliasesResponse{AccountAliases: []string{}, IsTruncated: ptr.To(false)}, nil
}
