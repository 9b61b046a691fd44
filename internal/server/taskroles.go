package server

import (
	"context"
	"time"

	"github.com/wharfhq/wharf/internal/agentproto"
	"github.com/wharfhq/wharf/internal/ecs"
	"github.com/wharfhq/wharf/internal/sts"
)

// taskRolesPrincipal is the service principal a task role's trust policy
// must allow, as in AWS.
const taskRolesPrincipal = "ecs-tasks.amazonaws.com"

// taskRoleSession is how long task role credentials live at most (ECS's
// six hours, capped by the role's MaxSessionDuration); ECS renews them
// before they expire.
const taskRoleSession = 6 * time.Hour

// taskRoleCredentials mints the credentials ECS hands to tasks, with STS,
// on behalf of ecs-tasks.amazonaws.com.
func taskRoleCredentials(s *sts.Service) ecs.RoleCredentialsFunc {
	return func(ctx context.Context, roleARN, sessionName string) (*agentproto.Credentials, error) {
		ss, err := s.AssumeRoleForService(ctx, roleARN, taskRolesPrincipal, sessionName, taskRoleSession)
		if err != nil {
			return nil, err
		}
		c := ss.Credentials
		return &agentproto.Credentials{RoleARN: roleARN, AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
			SessionToken: c.SessionToken, Expiration: c.Expiration}, nil
	}
}
