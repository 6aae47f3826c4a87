package gateway_test

import (
	"context"
	"log"
	"log/slog"
	"os/signal"
	"syscall"
	"time"

	"github.com/gust-faas/gust/gateway"
	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/store/embedded"
	"github.com/gust-faas/gust/whisk"
)

// echo is a Controller that runs nothing: every blocking invocation
// succeeds with its arguments as the result.
type echo struct{}

func (echo) Invoke(_ context.Context, msg *bus.ActivationMessage, _ time.Duration) (*whisk.Activation, error) {
	if !msg.Blocking {
		return nil, nil
	}
	return &whisk.Activation{
		Namespace: msg.Namespace, Name: msg.Action.Name, ActivationID: msg.ActivationID,
		Response: whisk.NewResponse(whisk.StatusSuccess, msg.Args),
	}, nil
}

// A gateway serves the API over a store and a Controller until its context
// ends. In Gust the controller package provides the Controller.
func Example() {
	st, err := embedded.Open("/var/lib/gust/gust.db", embedded.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	gw, err := gateway.New(gateway.Config{Listen: "127.0.0.1:3233"},
		gateway.Deps{Store: st, Controller: echo{}, Logger: slog.Default()})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := gw.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
