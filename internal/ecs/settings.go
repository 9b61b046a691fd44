package ecs

import (
	"context"
	"slices"
	"strconv"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// accountSettingDefaults are the values in effect when neither the
// principal nor the account default sets one, in the model's name order.
var accountSettingDefaults = []kv{
	{"serviceLongArnFormat", "enabled"},
	{"taskLongArnFormat", "enabled"},
	{"containerInstanceLongArnFormat", "enabled"},
	{"awsvpcTrunking", "disabled"},
	{"containerInsights", "disabled"},
	{"fargateFIPSMode", "disabled"},
	{"tagResourceAuthorization", "on"},
	{"fargateTaskRetirementWaitPeriod", "7"},
	{"guardDutyActivate", "off"},
	{"defaultLogDriverMode", "blocking"},
	{"fargateEventWindows", "disabled"},
}

// validAccountSetting checks a value for a setting name.
func validAccountSetting(name, value string) error {
	var ok bool
	switch name {
	case "serviceLongArnFormat", "taskLongArnFormat", "containerInstanceLongArnFormat", "awsvpcTrunking", "fargateFIPSMode", "fargateEventWindows":
		ok = value == "enabled" || value == "disabled"
	case "containerInsights":
		ok = value == "enabled" || value == "disabled" || value == "enhanced"
	case "tagResourceAuthorization", "guardDutyActivate":
		ok = value == "on" || value == "off"
	case "fargateTaskRetirementWaitPeriod":
		ok = value == "0" || value == "7" || value == "14"
	case "defaultLogDriverMode":
		ok = value == "blocking" || value == "non-blocking"
	default:
		return invalidParam("Invalid setting name: %s", name)
	}
	if !ok {
		return invalidParam("Invalid value %s for setting %s.", value, name)
	}
	return nil
}

func callerARN(ctx context.Context) string {
	if p := principal.From(ctx); p != nil && p.ARN != "" {
		return p.ARN
	}
	acct, _ := tenancy.Account(ctx)
	return arn.Build("iam", "", acct, "root")
}

func rootARN(ctx context.Context) string {
	acct, _ := tenancy.Account(ctx)
	return arn.Build("iam", "", acct, "root")
}

func apiSetting(name, value, principalArn string) ecsapi.Setting {
	return ecsapi.Setting{Name: ptr.To(name), Value: ptr.To(value), PrincipalArn: ptr.To(principalArn), Type: ptr.To("user")}
}

// PutAccountSetting sets a setting for a principal (default: the caller).
func (s *Service) PutAccountSetting(ctx context.Context, in *ecsapi.PutAccountSettingRequest) (*ecsapi.PutAccountSettingResponse, error) {
	name, value := ptr.Value(in.Name), ptr.Value(in.Value)
	if err := validAccountSetting(name, value); err != nil {
		return nil, err
	}
	who := ptr.Value(in.PrincipalArn)
	if who == "" {
		who = callerARN(ctx)
	} else if !arn.Valid(who) {
		return nil, invalidParam("Invalid principalArn: %s", who)
	}
	rec := settingRec{Name: name, Value: value, PrincipalArn: who}
	if err := s.update(ctx, func(tx store.Tx) error { return putJSON(tx, settingKey(who, name), &rec) }); err != nil {
		return nil, err
	}
	st := apiSetting(name, value, who)
	return &ecsapi.PutAccountSettingResponse{Setting: &st}, nil
}

// PutAccountSettingDefault sets a setting for every principal of the
// account that does not set it.
func (s *Service) PutAccountSettingDefault(ctx context.Context, in *ecsapi.PutAccountSettingDefaultRequest) (*ecsapi.PutAccountSettingDefaultResponse, error) {
	name, value := ptr.Value(in.Name), ptr.Value(in.Value)
	if err := validAccountSetting(name, value); err != nil {
		return nil, err
	}
	rec := settingRec{Name: name, Value: value, PrincipalArn: rootARN(ctx)}
	if err := s.update(ctx, func(tx store.Tx) error { return putJSON(tx, settingKey(defaultPrincipal, name), &rec) }); err != nil {
		return nil, err
	}
	st := apiSetting(name, value, rec.PrincipalArn)
	return &ecsapi.PutAccountSettingDefaultResponse{Setting: &st}, nil
}

// DeleteAccountSetting removes a principal's own value of a setting.
func (s *Service) DeleteAccountSetting(ctx context.Context, in *ecsapi.DeleteAccountSettingRequest) (*ecsapi.DeleteAccountSettingResponse, error) {
	name := ptr.Value(in.Name)
	if !slices.ContainsFunc(accountSettingDefaults, func(d kv) bool { return d.Name == name }) {
		return nil, invalidParam("Invalid setting name: %s", name)
	}
	who := ptr.Value(in.PrincipalArn)
	if who == "" {
		who = callerARN(ctx)
	}
	var rec settingRec
	err := s.update(ctx, func(tx store.Tx) error {
		_, err := getJSON(tx, settingKey(who, name), &rec)
		if isNotFound(err) {
			return invalidParam("The specified setting was not found.")
		}
		if err != nil {
			return err
		}
		return tx.Delete(tblECS, settingKey(who, name))
	})
	if err != nil {
		return nil, err
	}
	st := apiSetting(rec.Name, rec.Value, rec.PrincipalArn)
	return &ecsapi.DeleteAccountSettingResponse{Setting: &st}, nil
}

// ListAccountSettings lists a principal's settings: those it set, or with
// effectiveSettings every setting with the value in effect for it.
func (s *Service) ListAccountSettings(ctx context.Context, in *ecsapi.ListAccountSettingsRequest) (*ecsapi.ListAccountSettingsResponse, error) {
	who := ptr.Value(in.PrincipalArn)
	if who == "" {
		who = callerARN(ctx)
	}
	if in.Value != nil && in.Name == nil {
		return nil, invalidParam("Name must be specified when value is specified.")
	}
	var all []ecsapi.Setting
	err := s.view(ctx, func(tx store.Tx) error {
		own, err := scanAll[settingRec](tx, "setting/"+who+"/")
		if err != nil {
			return err
		}
		defs, err := scanAll[settingRec](tx, "setting/"+defaultPrincipal+"/")
		if err != nil {
			return err
		}
		find := func(rs []settingRec, name string) *settingRec {
			for i := range rs {
				if rs[i].Name == name {
					return &rs[i]
				}
			}
			return nil
		}
		for _, d := range accountSettingDefaults {
			var st ecsapi.Setting
			switch r := find(own, d.Name); {
			case r != nil:
				st = apiSetting(r.Name, r.Value, who)
			case !ptr.Value(in.EffectiveSettings):
				continue
			default:
				v := d.Value
				if r := find(defs, d.Name); r != nil {
					v = r.Value
				}
				st = apiSetting(d.Name, v, who)
			}
			if in.Name != nil && *in.Name != *st.Name || in.Value != nil && *in.Value != *st.Value {
				continue
			}
			all = append(all, st)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	type indexed struct {
		i int
		s ecsapi.Setting
	}
	rows := make([]indexed, len(all))
	for i, st := range all {
		rows[i] = indexed{i, st}
	}
	page, next, err := paginate(rows, func(r indexed) string { return strconv.Itoa(1000 + r.i) }, in.NextToken, maxResults(in.MaxResults, 100, 100), false)
	if err != nil {
		return nil, err
	}
	out := &ecsapi.ListAccountSettingsResponse{Settings: []ecsapi.Setting{}}
	for _, r := range page {
		out.Settings = append(out.Settings, r.s)
	}
	if next != "" {
		out.NextToken = ptr.To(next)
	}
	return out, nil
}
