package main

import (
	"context"
	"errors"
)

func runStale(ctx context.Context, o *options, e *env) (int, error) {
	return exitError, errors.New("--stale is not implemented yet")
}
