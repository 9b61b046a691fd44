package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// writeSharedFiles writes DataDir/credentials and DataDir/config in the AWS
// shared files format (profile "default"). Existing files are replaced only
// when their content differs, atomically, with owner-only permissions for
// the credentials.
func writeSharedFiles(dir, accessKeyID, secret, region, endpoint string) (credPath, confPath string, err error) {
	credPath = filepath.Join(dir, "credentials")
	confPath = filepath.Join(dir, "config")
	cred := fmt.Sprintf("# Written by wharf up: the administrator key of this Wharf account.\n[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", accessKeyID, secret)
	conf := fmt.Sprintf("# Written by wharf up. Point clients at Wharf with --endpoint-url %s\n[default]\nregion = %s\noutput = json\n", endpoint, region)
	if err := writeIfChanged(credPath, cred, 0o600); err != nil {
		return "", "", err
	}
	if err := writeIfChanged(confPath, conf, 0o644); err != nil {
		return "", "", err
	}
	return credPath, confPath, nil
}

func writeIfChanged(path, content string, mode os.FileMode) error {
	if old, err := os.ReadFile(path); err == nil && strings.EqualFold(string(old), content) {
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
