package regbench

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

// ECRLogin gets registry credentials the way `aws ecr get-login-password`
// does: ecr:GetAuthorizationToken at endpoint (a loopback URL), signed
// with awsCfg's credentials (AWSConfig reads the environment's). When repo is
// not empty it also creates the repository, which ECR-style registries
// require before a push; one that exists is fine.
func ECRLogin(ctx context.Context, awsCfg aws.Config, endpoint, repo string) (username, password string, err error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", fmt.Errorf("ecr endpoint %q: want http://HOST[:PORT]", endpoint)
	}
	if err := (&Config{Registry: u.Host}).checkLoopback(ctx); err != nil {
		return "", "", fmt.Errorf("ecr endpoint: %w", err)
	}
	cfg := awsCfg.Copy()
	cfg.BaseEndpoint = aws.String(endpoint)
	c := awsecr.NewFromConfig(cfg)
	out, err := c.GetAuthorizationToken(ctx, &awsecr.GetAuthorizationTokenInput{})
	if err != nil {
		return "", "", fmt.Errorf("GetAuthorizationToken: %w", err)
	}
	if len(out.AuthorizationData) == 0 {
		return "", "", errors.New("GetAuthorizationToken: no authorization data")
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		return "", "", fmt.Errorf("GetAuthorizationToken: token: %w", err)
	}
	username, password, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", errors.New("GetAuthorizationToken: token is not USER:PASSWORD")
	}
	if repo != "" {
		_, err := c.CreateRepository(ctx, &awsecr.CreateRepositoryInput{RepositoryName: aws.String(repo)})
		var exists *ecrtypes.RepositoryAlreadyExistsException
		if err != nil && !errors.As(err, &exists) {
			return "", "", fmt.Errorf("CreateRepository %s: %w", repo, err)
		}
	}
	return username, password, nil
}

// AWSConfig builds an SDK configuration from the environment, in the
// order of the SDK's default chain for the sources it covers: the
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
// variables, then the shared credentials file (AWS_SHARED_CREDENTIALS_FILE
// or ~/.aws/credentials, profile AWS_PROFILE or "default"); the region
// from AWS_REGION, AWS_DEFAULT_REGION or the shared config file
// (AWS_CONFIG_FILE or ~/.aws/config), else us-east-1. SSO, web identity,
// process credentials and instance metadata are not covered: the module
// does not carry aws-sdk-go-v2/config, and a loopback registry never
// needs them (`wharf up` writes exactly these two files).
func AWSConfig() (aws.Config, error) {
	profile := envOr("AWS_PROFILE", "default")
	home, _ := os.UserHomeDir()
	region := envOr("AWS_REGION", os.Getenv("AWS_DEFAULT_REGION"))
	if region == "" {
		section := "profile " + profile
		if profile == "default" {
			section = "default"
		}
		region = iniFile(envOr("AWS_CONFIG_FILE", filepath.Join(home, ".aws", "config")))[section]["region"]
	}
	if region == "" {
		region = "us-east-1"
	}
	id, secret, token := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN")
	if id == "" || secret == "" {
		file := envOr("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, ".aws", "credentials"))
		p := iniFile(file)[profile]
		id, secret, token = p["aws_access_key_id"], p["aws_secret_access_key"], p["aws_session_token"]
		if id == "" || secret == "" {
			return aws.Config{}, fmt.Errorf("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or profile %q in %s", profile, file)
		}
	}
	return aws.Config{
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, token),
		RetryMaxAttempts: 1,
	}, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// iniFile reads an AWS shared file into section → key → value; a file
// that cannot be read is empty.
func iniFile(path string) map[string]map[string]string {
	out := map[string]map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	return parseINI(bufio.NewScanner(f))
}

func parseINI(sc *bufio.Scanner) map[string]map[string]string {
	out := map[string]map[string]string{}
	var cur map[string]string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && strings.HasSuffix(line, "]"):
			name := strings.Join(strings.Fields(line[1:len(line)-1]), " ")
			if out[name] == nil {
				out[name] = map[string]string{}
			}
			cur = out[name]
		case cur != nil:
			if k, v, ok := strings.Cut(line, "="); ok {
				cur[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
			}
		}
	}
	return out
}
