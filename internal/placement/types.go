package placement

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Instance statuses that matter to placement. Only ACTIVE instances are
// candidates; DRAINING (and any other status) are skipped silently, as ECS
// does.
const (
	StatusActive   = "ACTIVE"
	StatusDraining = "DRAINING"
)

// Built-in attribute names (Instance.Attributes keys).
const (
	AttrAvailabilityZone = "ecs.availability-zone"
	AttrInstanceType     = "ecs.instance-type"
	AttrOSType           = "ecs.os-type"
	AttrCPUArchitecture  = "ecs.cpu-architecture"
	AttrAMIID            = "ecs.ami-id"
)

// Instance is what placement knows of one container instance. Place never
// modifies it; the maps and slices may be shared with the caller.
type Instance struct {
	ID             string // container instance ARN (reported in failures and placements)
	EC2InstanceID  string
	Status         string // ACTIVE, DRAINING, ...
	AgentConnected bool
	AgentVersion   string // e.g. 1.80.0, for agentVersion expressions
	RegisteredAt   time.Time

	// Attributes holds built-in (ecs.availability-zone, ecs.instance-type,
	// ecs.os-type, ecs.cpu-architecture, ecs.ami-id, ...) and custom
	// attributes. An attribute without a value has the value "".
	Attributes map[string]string

	RemainingCPU    int // CPU units
	RemainingMemory int // MiB
	RemainingGPU    int // GPU count

	// UsedTCPPorts and UsedUDPPorts are host ports that are reserved at
	// registration or bound by running tasks, in any order.
	UsedTCPPorts []int
	UsedUDPPorts []int

	RunningTasksCount int            // running and pending tasks
	TaskGroups        map[string]int // task group -> tasks of that group on this instance
}

// Protocol is a port protocol.
type Protocol string

// Port protocols.
const (
	TCP Protocol = "tcp"
	UDP Protocol = "udp"
)

// Ephemeral host-port range for dynamic host ports (hostPort 0).
const (
	EphemeralPortMin = 49153
	EphemeralPortMax = 65535
)

// Port is a host port a task needs. HostPort 0 asks for a dynamic port from
// the ephemeral range, which Place assigns.
type Port struct {
	HostPort int
	Protocol Protocol // "" means tcp
}

// ConstraintType is a placement constraint type.
type ConstraintType string

// Placement constraint types.
const (
	DistinctInstance ConstraintType = "distinctInstance"
	MemberOf         ConstraintType = "memberOf"
)

// Constraint is a placement constraint. Build it with NewConstraint so the
// expression is parsed and validated once.
type Constraint struct {
	Type ConstraintType
	Expr *Expr // memberOf only
}

// StrategyType is a placement strategy type.
type StrategyType string

// Placement strategy types.
const (
	Random  StrategyType = "random"
	Spread  StrategyType = "spread"
	Binpack StrategyType = "binpack"
)

// Strategy is one placement strategy rule. Field is "cpu" or "memory" for
// binpack; "instanceId" (or "host"), "attribute:NAME" or "NAME" for spread;
// unused for random.
type Strategy struct {
	Type  StrategyType
	Field string
}

// Attribute is a required attribute of a task definition
// (requiresAttributes): the instance must have Name, and Value if it is set.
type Attribute struct {
	Name  string
	Value string // "" means any value
}

// Task is one task to place.
type Task struct {
	CPU, Memory, GPU int
	Ports            []Port

	// Group is the task group (service:NAME or family:NAME). distinctInstance
	// and spread count the tasks of this group.
	Group string

	Constraints        []Constraint // at most MaxConstraints
	Strategies         []Strategy   // at most MaxStrategies; empty means Options.DefaultStrategies
	RequiredAttributes []Attribute
}

// Options tunes Place.
type Options struct {
	// Rand drives the random strategy. Inject a seeded source for
	// deterministic results; nil uses a fixed seed (never global state).
	Rand *rand.Rand

	// DefaultStrategies apply to tasks without strategies. Nil means
	// DefaultStrategies().
	DefaultStrategies []Strategy
}

// DefaultStrategies returns the strategies Place applies when a task names
// none: spread across attribute:ecs.availability-zone (ECS's documented
// default for services), then spread across instanceId, which is the ECS
// console's "AZ balanced spread" template and keeps one instance from taking
// every task of its zone.
func DefaultStrategies() []Strategy {
	return []Strategy{
		{Type: Spread, Field: "attribute:" + AttrAvailabilityZone},
		{Type: Spread, Field: "instanceId"},
	}
}

// Placement assigns Tasks[TaskIndex] to an instance. HostPorts has one entry
// per Task.Ports entry: the fixed port, or the dynamic port assigned.
type Placement struct {
	TaskIndex  int
	InstanceID string
	HostPorts  []int
}

// Failure reasons. The RESOURCE, AGENT and ATTRIBUTE reasons are ECS's
// Failure.reason values; the constraint reasons are ECS's wording.
const (
	ReasonCPU              = "RESOURCE:CPU"
	ReasonMemory           = "RESOURCE:MEMORY"
	ReasonGPU              = "RESOURCE:GPU"
	ReasonPorts            = "RESOURCE:PORTS"
	ReasonAgent            = "AGENT"
	ReasonAttribute        = "ATTRIBUTE"
	ReasonMissing          = "MISSING"
	ReasonDistinctInstance = "DistinctInstance placement constraint unsatisfied."
	ReasonMemberOf         = "MemberOf placement constraint unsatisfied."
)

// Failure is one ECS-style failure: the instance (Arn) a task could not be
// placed on and why. Place reports each instance at most once per call,
// with the reason of the first check it failed, for the first task
// (TaskIndex) that could not be placed.
type Failure struct {
	TaskIndex int
	Arn       string
	Reason    string
	Detail    string
}

// NewConstraint validates a placement constraint as ECS does:
// distinctInstance takes no expression, memberOf requires one.
func NewConstraint(typ, expression string) (Constraint, error) {
	switch ConstraintType(typ) {
	case DistinctInstance:
		if expression != "" {
			return Constraint{}, &ParameterError{Param: "placementConstraints.expression",
				Msg: "an expression cannot be specified for the distinctInstance constraint type"}
		}
		return Constraint{Type: DistinctInstance}, nil
	case MemberOf:
		if expression == "" {
			return Constraint{}, &ParameterError{Param: "placementConstraints.expression",
				Msg: "the memberOf constraint type requires an expression"}
		}
		e, err := Parse(expression)
		if err != nil {
			return Constraint{}, err
		}
		return Constraint{Type: MemberOf, Expr: e}, nil
	}
	return Constraint{}, &ParameterError{Param: "placementConstraints.type",
		Msg: "unknown constraint type " + strconv.Quote(typ) + "; valid types are distinctInstance and memberOf"}
}

// NewStrategy validates a placement strategy as ECS does.
func NewStrategy(typ, field string) (Strategy, error) {
	s := Strategy{Type: StrategyType(typ), Field: field}
	if err := s.validate(); err != nil {
		return Strategy{}, err
	}
	return s, nil
}

func (s Strategy) validate() error {
	switch s.Type {
	case Random:
		return nil
	case Binpack:
		switch strings.ToLower(s.Field) {
		case "cpu", "memory":
			return nil
		}
		return &ParameterError{Param: "placementStrategy.field",
			Msg: "the binpack strategy requires the field cpu or memory, not " + strconv.Quote(s.Field)}
	case Spread:
		if s.Field == "" {
			return &ParameterError{Param: "placementStrategy.field",
				Msg: "the spread strategy requires a field: instanceId, host or an attribute such as attribute:ecs.availability-zone"}
		}
		switch s.Field {
		case "instanceId", "host":
			return nil
		}
		name := strings.TrimPrefix(s.Field, "attribute:")
		if msg := checkAttributeName(name); msg != "" {
			return &ParameterError{Param: "placementStrategy.field", Msg: msg}
		}
		return nil
	}
	return &ParameterError{Param: "placementStrategy.type",
		Msg: "unknown strategy type " + strconv.Quote(string(s.Type)) + "; valid types are random, spread and binpack"}
}

// Validate checks a task the way RunTask validates its placement input.
func (t *Task) Validate() error {
	if len(t.Constraints) > MaxConstraints {
		return &ParameterError{Param: "placementConstraints",
			Msg: "at most " + strconv.Itoa(MaxConstraints) + " placement constraints are allowed, got " + strconv.Itoa(len(t.Constraints))}
	}
	if len(t.Strategies) > MaxStrategies {
		return &ParameterError{Param: "placementStrategy",
			Msg: "at most " + strconv.Itoa(MaxStrategies) + " placement strategies are allowed, got " + strconv.Itoa(len(t.Strategies))}
	}
	for _, c := range t.Constraints {
		switch c.Type {
		case DistinctInstance:
		case MemberOf:
			if c.Expr == nil {
				return &ParameterError{Param: "placementConstraints.expression", Msg: "the memberOf constraint type requires an expression"}
			}
		default:
			return &ParameterError{Param: "placementConstraints.type", Msg: "unknown constraint type " + strconv.Quote(string(c.Type))}
		}
	}
	for _, s := range t.Strategies {
		if err := s.validate(); err != nil {
			return err
		}
	}
	if t.CPU < 0 || t.Memory < 0 || t.GPU < 0 {
		return &ParameterError{Param: "cpu/memory/gpu", Msg: "resource requirements cannot be negative"}
	}
	for _, p := range t.Ports {
		if p.HostPort < 0 || p.HostPort > 65535 {
			return &ParameterError{Param: "portMappings.hostPort", Msg: "host port " + strconv.Itoa(p.HostPort) + " is out of range 0-65535"}
		}
		if p.Protocol != "" && p.Protocol != TCP && p.Protocol != UDP {
			return &ParameterError{Param: "portMappings.protocol", Msg: "protocol must be tcp or udp, not " + strconv.Quote(string(p.Protocol))}
		}
	}
	return nil
}
