package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
)

type benchOptions struct {
	app string
	out io.Writer
	log *slog.Logger
}

func bench(ctx context.Context, o benchOptions) error {
	return errors.New("bench: not written yet")
}
