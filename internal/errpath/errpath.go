// Package errpath trims errors for messages that already name the path.
package errpath

import (
	"errors"
	"io/fs"
)

// Strip drops the *fs.PathError wrapper, whose text repeats the path.
func Strip(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
