package edge

import "github.com/wharfhq/wharf/internal/awsmodel"

// Hidden replaces sensitive values (the model's "sensitive" trait) in the
// request parameters kept by the audit log.
const Hidden = "HIDDEN_DUE_TO_SECURITY_REASONS"

// redact returns a copy of tree with every sensitive member replaced and
// the top-level members in omit left out.
func redact(s *awsmodel.Shape, tree map[string]any, omit []string) map[string]any {
	if tree == nil {
		return nil
	}
	if len(omit) > 0 {
		kept := make(map[string]any, len(tree))
		for k, v := range tree {
			kept[k] = v
		}
		for _, k := range omit {
			delete(kept, k)
		}
		tree = kept
	}
	out, _ := redactValue(s, tree).(map[string]any)
	return out
}

func redactValue(s *awsmodel.Shape, v any) any {
	if s.Sensitive {
		return Hidden
	}
	switch s.Type {
	case awsmodel.Structure:
		m, ok := v.(map[string]any)
		if !ok || s.Document {
			return v
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			if ref, ok := s.Members[k]; ok {
				out[k] = redactValue(ref.Shape, e)
			}
		}
		return out
	case awsmodel.List:
		l, ok := v.([]any)
		if !ok {
			return v
		}
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = redactValue(s.Member.Shape, e)
		}
		return out
	case awsmodel.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			out[k] = redactValue(s.Value.Shape, e)
		}
		return out
	case awsmodel.Blob:
		return Hidden // blobs are never kept in the audit log
	}
	return v
}
