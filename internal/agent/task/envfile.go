package task

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Environment files (a container definition's environmentFiles): objects
// in S3 holding VAR=VALUE lines, which the agent downloads before it
// creates the task's containers, as the ECS agent does. This file holds
// the pure parts — the reference, the parser and the merge; the agent
// supplies the download (Config.EnvFiles).

// MaxEnvFiles is how many environment files a container may list (ECS:
// "up to ten").
const MaxEnvFiles = 10

// MaxEnvFileBytes bounds one environment file. ECS sets no limit (a large
// file only fills the disk); Wharf keeps the whole file in memory and in
// the container's configuration, so it refuses files over 4 MiB.
const MaxEnvFileBytes = 4 << 20

// EnvFileRef is one environmentFiles entry: an S3 object.
type EnvFileRef struct {
	ARN    string // arn:aws:s3:::bucket/key, as the definition gives it
	Bucket string
	Key    string
}

// FetchEnvFile downloads one environment file for a task (with its
// execution role's credentials when it has one).
type FetchEnvFile func(ctx context.Context, taskARN string, ref EnvFileRef) ([]byte, error)

// ParseEnvFileRef checks one environmentFiles entry: type "s3" and an S3
// object ARN ("arn:aws:s3:::bucket/key"; other partitions too).
func ParseEnvFileRef(typ, value string) (EnvFileRef, error) {
	if typ != "s3" {
		return EnvFileRef{}, fmt.Errorf("environment file %q: type %q is not supported; the only type is s3", value, typ)
	}
	parts := strings.SplitN(value, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "s3" || parts[3] != "" || parts[4] != "" {
		return EnvFileRef{}, fmt.Errorf("environment file %q: want the ARN of an S3 object, like arn:aws:s3:::bucket/key.env", value)
	}
	bucket, key, ok := strings.Cut(parts[5], "/")
	if !ok || bucket == "" || key == "" {
		return EnvFileRef{}, fmt.Errorf("environment file %q: want the ARN of an S3 object, like arn:aws:s3:::bucket/key.env", value)
	}
	return EnvFileRef{ARN: value, Bucket: bucket, Key: key}, nil
}

// ParseEnvFile reads an environment file the way Docker's --env-file and
// the ECS agent do: one VARIABLE=VALUE per line; blank lines and lines
// whose first non-blank character is # are ignored; the name is what
// precedes the first "=" (leading blanks dropped, no blanks inside); the
// value is everything after it, as is — no quote or escape processing, so
// spaces and quotation marks are part of it. A line without "=" names no
// value and is skipped. Later lines win over earlier ones. The file must
// be UTF-8 and at most MaxEnvFileBytes.
func ParseEnvFile(data []byte) (map[string]string, error) {
	if len(data) > MaxEnvFileBytes {
		return nil, fmt.Errorf("the file is %d bytes; at most %d are read", len(data), MaxEnvFileBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	out := map[string]string{}
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if !utf8.ValidString(line) {
			return nil, fmt.Errorf("line %d is not valid UTF-8", n+1)
		}
		trimmed := strings.TrimLeftFunc(line, unicode.IsSpace)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		name, value, ok := strings.Cut(trimmed, "=")
		if !ok {
			continue
		}
		if name == "" {
			return nil, fmt.Errorf("line %d has no variable name before '='", n+1)
		}
		if strings.ContainsFunc(name, unicode.IsSpace) || strings.ContainsRune(name, 0) {
			return nil, fmt.Errorf("line %d: variable %q contains whitespace", n+1, name)
		}
		if strings.ContainsRune(value, 0) {
			return nil, fmt.Errorf("line %d: the value of %s contains a NUL byte", n+1, name)
		}
		out[name] = value
	}
	return out, nil
}

// MergeEnvFiles adds the variables of a container's environment files
// (in the order the definition lists them) to env, as the ECS agent
// does: a variable env already has — from environment, the overrides or
// the agent — keeps its value, and between files the first file that
// sets a variable wins.
func MergeEnvFiles(env map[string]string, files []map[string]string) map[string]string {
	out := make(map[string]string, len(env))
	for k, v := range env {
		out[k] = v
	}
	for _, f := range files {
		for k, v := range f {
			if _, set := out[k]; !set {
				out[k] = v
			}
		}
	}
	return out
}
