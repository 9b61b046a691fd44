package iam

import (
	"errors"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/api/iamapi"
	"github.com/wharfhq/wharf/internal/ptr"
)

// TestConcurrentKeyLimit checks that racing CreateAccessKey calls never give
// a user more than two keys.
func TestConcurrentKeyLimit(t *testing.T) {
	e := newEnv(t)
	e.createUser("zed")
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, limited := 0, 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.svc.CreateAccessKey(e.root, &iamapi.CreateAccessKeyRequest{UserName: ptr.To("zed")})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrLimitExceeded):
				limited++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok != 2 || limited != 6 {
		t.Fatalf("created %d, limited %d", ok, limited)
	}
}
