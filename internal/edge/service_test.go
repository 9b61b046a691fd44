package edge

import "testing"

func TestServiceAction(t *testing.T) {
	s := &Service{ActionPrefix: "ecs", Actions: map[string]string{"PollAssignments": "Poll"}}
	for op, want := range map[string]string{"PollAssignments": "ecs:Poll", "SubmitTaskHealth": "ecs:SubmitTaskHealth"} {
		if got := s.action(op); got != want {
			t.Errorf("action(%s) = %s, want %s", op, got, want)
		}
	}
}
