// Package models embeds the AWS service models Wharf serves (botocore's
// service-2.json files with documentation removed, Apache License 2.0) so
// that a checkout builds, generates and runs on its own.
package models

import (
	"embed"
	"fmt"
	"io/fs"
	"sync"

	"github.com/wharfhq/wharf/internal/awsmodel"
)

//go:embed */*/service-2.json
var files embed.FS

var (
	mu     sync.Mutex
	loaded = map[string]*awsmodel.Model{}
)

// Load returns the parsed model of service (the folder name: "ecs",
// "iam", "sts", …), parsing it once.
func Load(service string) (*awsmodel.Model, error) {
	mu.Lock()
	defer mu.Unlock()
	if m, ok := loaded[service]; ok {
		return m, nil
	}
	matches, err := fs.Glob(files, service+"/*/service-2.json")
	if err != nil || len(matches) != 1 {
		return nil, fmt.Errorf("models: no model for service %q", service)
	}
	data, err := files.ReadFile(matches[0])
	if err != nil {
		return nil, err
	}
	m, err := awsmodel.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("models: %s: %w", service, err)
	}
	loaded[service] = m
	return m, nil
}

// MustLoad is Load for package initialisation; it panics on a broken embed.
func MustLoad(service string) *awsmodel.Model {
	m, err := Load(service)
	if err != nil {
		panic(err)
	}
	return m
}
