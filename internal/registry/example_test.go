package registry_test

import (
	"fmt"

	"github.com/wharfhq/wharf/internal/registry"
)

func ExampleValidName() {
	for _, n := range []string{"team/app", "Team/App", "a", "app__v2/x-y"} {
		fmt.Println(n, registry.ValidName(n))
	}
	// Output:
	// team/app true
	// Team/App false
	// a false
	// app__v2/x-y true
}

func ExampleValidTag() {
	fmt.Println(registry.ValidTag("v1.2.3"), registry.ValidTag("-latest"))
	// Output: true false
}
