package client_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/gust-faas/gust/client"
)

// A blocking invocation that asks for the result only.
func ExampleClient_Invoke() {
	// A stand-in for a Gust gateway.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(client.ActivationIDHeader, "c7bb1339cb4f40e3a6ccead6c99f804e")
		io.WriteString(w, `{"payload":"Hello, John"}`)
	}))
	defer srv.Close()

	c, err := client.New(client.Config{APIHost: srv.URL, Auth: client.GuestAuth})
	if err != nil {
		panic(err)
	}
	inv, err := c.Invoke(context.Background(), "hello", map[string]string{"name": "John"}, true, true, 0)
	if err != nil {
		panic(err)
	}
	fmt.Println(inv.Status, inv.ActivationID)
	fmt.Println(string(inv.Body))
	// Output:
	// 200 c7bb1339cb4f40e3a6ccead6c99f804e
	// {"payload":"Hello, John"}
}

// A trigger connected to an action by a rule, then fired.
func ExampleClient_FireTrigger() {
	// A stand-in for a Gust gateway that accepts everything and answers a
	// fire with the trigger's activation id.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, `{"activationId":"0aa1cd2ef7894cb9a1cd2ef7894cb9a1"}`)
		default:
			io.WriteString(w, `{"namespace":"guest","name":"x"}`)
		}
	}))
	defer srv.Close()

	c, err := client.New(client.Config{APIHost: srv.URL, Auth: client.GuestAuth})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	if _, err := c.PutTrigger(ctx, "tick", &client.TriggerPut{}, false); err != nil {
		panic(err)
	}
	if _, err := c.PutRule(ctx, "on-tick", &client.RulePut{Trigger: "/_/tick", Action: "/_/hello"}, false); err != nil {
		panic(err)
	}
	id, err := c.FireTrigger(ctx, "tick", map[string]string{"name": "John"})
	if err != nil {
		panic(err)
	}
	if id == "" {
		fmt.Println("no active rule")
		return
	}
	fmt.Println("fired:", id)
	// Output:
	// fired: 0aa1cd2ef7894cb9a1cd2ef7894cb9a1
}
