package main

import (
	"context"
	"errors"
)

func runServe(ctx context.Context, o *options, e *env) (int, error) {
	return exitError, errors.New("--serve is not implemented yet")
}
