package ecs

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/sqlite"
	"github.com/wharfhq/wharf/internal/tenancy"
)

func newTestService(t *testing.T) (*Service, context.Context) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "wharf.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return New(st, Options{}), tenancy.With(context.Background(), "123456789012", "us-east-1")
}

// TestRunTaskNeverOvercommits is a property test: on random clusters,
// concurrent RunTask calls of random sizes never leave an instance with
// negative remaining resources, and what each instance has left is exactly
// what it registered minus the tasks placed on it.
func TestRunTaskNeverOvercommits(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(seed, 1))
			s, ctx := newTestService(t)
			if _, err := s.CreateCluster(ctx, &ecsapi.CreateClusterRequest{ClusterName: ptr.To("c")}); err != nil {
				t.Fatal(err)
			}
			registered := map[string][2]int32{}
			for i := range 1 + rnd.IntN(5) {
				cpu, mem := int32(256*(1+rnd.IntN(8))), int32(512*(1+rnd.IntN(8)))
				out, err := s.RegisterContainerInstance(ctx, &ecsapi.RegisterContainerInstanceRequest{Cluster: ptr.To("c"),
					InstanceIdentityDocument: ptr.To(fmt.Sprintf(`{"instanceId":"i-%017d","availabilityZone":"us-east-1%c"}`, i, 'a'+rune(i%3))),
					TotalResources: []ecsapi.Resource{
						{Name: ptr.To("CPU"), Type: ptr.To("INTEGER"), IntegerValue: ptr.To(cpu)},
						{Name: ptr.To("MEMORY"), Type: ptr.To("INTEGER"), IntegerValue: ptr.To(mem)},
						{Name: ptr.To("PORTS"), Type: ptr.To("STRINGSET"), StringSetValue: []string{"22"}}}})
				if err != nil {
					t.Fatal(err)
				}
				registered[ptr.Value(out.ContainerInstance.ContainerInstanceArn)] = [2]int32{cpu, mem}
			}
			for f := range 3 {
				_, err := s.RegisterTaskDefinition(ctx, &ecsapi.RegisterTaskDefinitionRequest{Family: ptr.To(fmt.Sprintf("f%d", f)),
					ContainerDefinitions: []ecsapi.ContainerDefinition{{Name: ptr.To("a"), Image: ptr.To("i"),
						Cpu: ptr.To(int32(128 * (1 + rnd.IntN(4)))), Memory: ptr.To(int32(256 * (1 + rnd.IntN(4)))),
						PortMappings: []ecsapi.PortMapping{{ContainerPort: ptr.To(int32(80))}}}}})
				if err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			for w := range 12 {
				count, fam := int32(1+rnd.IntN(3)), fmt.Sprintf("f%d", w%3)
				wg.Go(func() {
					for range 6 {
						if _, err := s.RunTask(ctx, &ecsapi.RunTaskRequest{Cluster: ptr.To("c"), TaskDefinition: ptr.To(fam), Count: ptr.To(count)}); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()

			// Check every instance against its tasks.
			used := map[string][2]int{}
			ports := map[string]map[string]bool{}
			err := s.view(ctx, func(tx store.Tx) error {
				tasks, err := scanAll[taskRec](tx, taskPrefix("c"))
				for _, tk := range tasks {
					a := instanceARN(ctx, "c", tk.Instance)
					u := used[a]
					used[a] = [2]int{u[0] + tk.ReservedCPU, u[1] + tk.ReservedMemory}
					if ports[a] == nil {
						ports[a] = map[string]bool{}
					}
					for _, p := range tk.TCPPorts {
						k := fmt.Sprint(p)
						if ports[a][k] {
							t.Errorf("port %s used twice on %s", k, a)
						}
						ports[a][k] = true
					}
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(used) == 0 {
				t.Fatal("no task was placed")
			}
			var arns []string
			for a := range registered {
				arns = append(arns, a)
			}
			d, err := s.DescribeContainerInstances(ctx, &ecsapi.DescribeContainerInstancesRequest{Cluster: ptr.To("c"), ContainerInstances: arns})
			if err != nil {
				t.Fatal(err)
			}
			for _, ci := range d.ContainerInstances {
				a := ptr.Value(ci.ContainerInstanceArn)
				var cpu, mem int32
				for _, r := range ci.RemainingResources {
					switch ptr.Value(r.Name) {
					case "CPU":
						cpu = ptr.Value(r.IntegerValue)
					case "MEMORY":
						mem = ptr.Value(r.IntegerValue)
					}
				}
				reg, u := registered[a], used[a]
				if cpu < 0 || mem < 0 || int(reg[0]-cpu) != u[0] || int(reg[1]-mem) != u[1] {
					t.Errorf("%s: registered %v, remaining %d/%d, tasks use %v", a, reg, cpu, mem, u)
				}
			}
		})
	}
}
