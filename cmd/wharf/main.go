// Command wharf is Wharf: a self-hosted Amazon ECR and Amazon ECS in one
// binary. Run `wharf help` for the commands.
package main

import (
	"os"

	"github.com/wharfhq/wharf/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
