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
