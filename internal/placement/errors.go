package placement

import (
	"errors"
	"fmt"
)

// ErrInvalidParameter is the sentinel every validation error of this package
// wraps. The ECS service answers errors.Is(err, ErrInvalidParameter) with
// InvalidParameterException and err.Error() as the message.
var ErrInvalidParameter = errors.New("invalid parameter")

// MaxExpressionLength is the longest cluster query language expression ECS
// accepts (PlacementConstraint.expression, "max length of 2000").
const MaxExpressionLength = 2000

// MaxConstraints and MaxStrategies are ECS's limits per task or service:
// "You can specify a maximum of 10 constraints for each task" and "a maximum
// of 5 strategy rules for each task".
const (
	MaxConstraints = 10
	MaxStrategies  = 5
)

// SyntaxError reports an invalid cluster query language expression. Offset
// is the byte offset in Expr where the problem was found.
type SyntaxError struct {
	Expr   string
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid cluster query expression at offset %d: %s", e.Offset, e.Msg)
}

// Unwrap makes errors.Is(err, ErrInvalidParameter) true.
func (e *SyntaxError) Unwrap() error { return ErrInvalidParameter }

// ParameterError reports an invalid placement constraint, strategy or task
// field. Param names the offending field the way the ECS API spells it.
type ParameterError struct {
	Param string
	Msg   string
}

func (e *ParameterError) Error() string { return e.Param + ": " + e.Msg }

// Unwrap makes errors.Is(err, ErrInvalidParameter) true.
func (e *ParameterError) Unwrap() error { return ErrInvalidParameter }
