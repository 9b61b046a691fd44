package registry

import (
	"regexp"
	"strings"
)

// Repository names: the distribution spec's grammar, lowercase path
// components separated by "/", at most 256 characters as ECR allows.
var nameRE = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)

// ValidName reports whether name is a valid repository name.
func ValidName(name string) bool {
	return len(name) >= 2 && len(name) <= 256 && nameRE.MatchString(name)
}

var tagRE = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

// ValidTag reports whether tag is a valid tag.
func ValidTag(tag string) bool { return tagRE.MatchString(tag) }

// Keys in the registry's tables join a repository name and a digest or tag
// with "@", which neither names nor tags contain: "app/web@latest",
// "app/web@sha256:…", so a Scan by "NAME@" lists one repository.
func key(parts ...string) string { return strings.Join(parts, "@") }
