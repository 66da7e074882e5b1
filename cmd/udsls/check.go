package main

import (
	"context"
	"errors"
)

func runCheck(ctx context.Context, o *options, e *env) (int, error) {
	return exitError, errors.New("--check is not implemented yet")
}
