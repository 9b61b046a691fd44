package task

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseEnvFile(t *testing.T) {
	cases := []struct {
		name, in string
		want     map[string]string
		err      string
	}{
		{"empty", "", map[string]string{}, ""},
		{"basic", "A=1\nB=two words\n", map[string]string{"A": "1", "B": "two words"}, ""},
		{"comments and blanks", "# a comment\n\n   \n  # indented comment\nA=1\n", map[string]string{"A": "1"}, ""},
		{"no quote processing", `Q="quoted"` + "\n" + `S='single'` + "\nE=a\\nb\n", map[string]string{"Q": `"quoted"`, "S": `'single'`, "E": `a\nb`}, ""},
		{"value keeps spaces and #", "A= spaced #not a comment \n", map[string]string{"A": " spaced #not a comment "}, ""},
		{"first = splits", "URL=postgres://u:p@h/db?sslmode=require\n", map[string]string{"URL": "postgres://u:p@h/db?sslmode=require"}, ""},
		{"empty value", "EMPTY=\n", map[string]string{"EMPTY": ""}, ""},
		{"CRLF", "A=1\r\nB=2\r\n", map[string]string{"A": "1", "B": "2"}, ""},
		{"BOM", "\xef\xbb\xbfA=1\n", map[string]string{"A": "1"}, ""},
		{"leading blanks of the name dropped", "   A=1\n", map[string]string{"A": "1"}, ""},
		{"later line wins", "A=1\nA=2\n", map[string]string{"A": "2"}, ""},
		{"line without = skipped", "JUSTNAME\nA=1\n", map[string]string{"A": "1"}, ""},
		{"no final newline", "A=1", map[string]string{"A": "1"}, ""},
		{"no name", "=x\n", nil, "line 1 has no variable name"},
		{"space in name", "A B=1\n", nil, `line 1: variable "A B" contains whitespace`},
		{"space before =", "A =1\n", nil, "contains whitespace"},
		{"invalid UTF-8", "A=1\nB=\xff\n", nil, "line 2 is not valid UTF-8"},
		{"too big", strings.Repeat("A=1\n", MaxEnvFileBytes/4+1), nil, "at most 4194304 are read"},
	}
	for _, c := range cases {
		got, err := ParseEnvFile([]byte(c.in))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err %v; want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: ParseEnvFile = %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

func FuzzParseEnvFile(f *testing.F) {
	for _, s := range []string{"A=1\n", "# c\nB=x=y\r\n", "=x", "\xef\xbb\xbfA=\"q\"", " A=1\nA B=2", "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vars, err := ParseEnvFile(data)
		if err != nil {
			return
		}
		for k, v := range vars {
			// Every variable is a well-formed environment entry that reads
			// back to itself: a name without whitespace or "=", UTF-8, no NUL.
			if k == "" || strings.ContainsAny(k, "= \t\n\r\x00") || strings.ContainsAny(v, "\n\x00") ||
				!utf8.ValidString(k) || !utf8.ValidString(v) {
				t.Fatalf("ParseEnvFile(%q) gave %q=%q", data, k, v)
			}
			again, err := ParseEnvFile([]byte(k + "=" + v + "\n"))
			if err != nil || again[k] != strings.TrimSuffix(v, "\r") && again[k] != v {
				t.Fatalf("%q=%q does not read back: %q, %v", k, v, again, err)
			}
		}
	})
}

func TestParseEnvFileRef(t *testing.T) {
	for _, c := range []struct{ typ, val, bucket, key, err string }{
		{"s3", "arn:aws:s3:::bucket/key.env", "bucket", "key.env", ""},
		{"s3", "arn:aws:s3:::bucket/dir/sub/key.env", "bucket", "dir/sub/key.env", ""},
		{"s3", "arn:aws-us-gov:s3:::b/k", "b", "k", ""},
		{"S3", "arn:aws:s3:::bucket/key.env", "", "", "the only type is s3"},
		{"s3", "arn:aws:s3:::bucket", "", "", "want the ARN"},
		{"s3", "arn:aws:s3:::/key", "", "", "want the ARN"},
		{"s3", "arn:aws:s3:us-east-1:123456789012:bucket/key", "", "", "want the ARN"},
		{"s3", "s3://bucket/key.env", "", "", "want the ARN"},
	} {
		ref, err := ParseEnvFileRef(c.typ, c.val)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseEnvFileRef(%s, %s) err %v; want %q", c.typ, c.val, err, c.err)
			}
			continue
		}
		if err != nil || ref.Bucket != c.bucket || ref.Key != c.key || ref.ARN != c.val {
			t.Errorf("ParseEnvFileRef(%s, %s) = %+v, %v", c.typ, c.val, ref, err)
		}
	}
}

// TestMergeEnvFiles: environment (and whatever the agent set) wins over
// files; between files the first that sets a variable wins.
func TestMergeEnvFiles(t *testing.T) {
	env := map[string]string{"FROM_ENV": "env", "AWS_REGION": "eu-west-1"}
	files := []map[string]string{
		{"FROM_ENV": "file1", "SHARED": "file1", "ONE": "1"},
		{"SHARED": "file2", "TWO": "2", "AWS_REGION": "file2"},
	}
	got := MergeEnvFiles(env, files)
	want := map[string]string{"FROM_ENV": "env", "AWS_REGION": "eu-west-1", "SHARED": "file1", "ONE": "1", "TWO": "2"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MergeEnvFiles = %v; want %v", got, want)
	}
	if len(env) != 2 {
		t.Errorf("MergeEnvFiles changed its input: %v", env)
	}
}
