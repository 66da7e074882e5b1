package main

import (
	"context"
	"errors"
)

func runAudit(ctx context.Context, o *options, e *env) (int, error) {
	return exitError, errors.New("--audit is not implemented yet")
}
