package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/gust-faas/gust/store"
)

// SocketName is the admin socket's file name in the data directory.
const SocketName = "admin.sock"

// Serve answers the admin API on a unix socket at path until ctx ends:
//
//	GET    /namespaces        list namespaces
//	PUT    /namespaces/{ns}   create; answers Credentials
//	DELETE /namespaces/{ns}   delete the namespace's identity
func Serve(ctx context.Context, path string, ids store.Identities) error {
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /namespaces", func(w http.ResponseWriter, r *http.Request) {
		list, err := ids.ListIdentities(r.Context())
		reply(w, namespaces(list), err)
	})
	mux.HandleFunc("PUT /namespaces/{ns}", func(w http.ResponseWriter, r *http.Request) {
		c, err := CreateUser(r.Context(), ids, r.PathValue("ns"))
		reply(w, c, err)
	})
	mux.HandleFunc("DELETE /namespaces/{ns}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]string{"namespace": r.PathValue("ns")}, ids.DeleteIdentity(r.Context(), r.PathValue("ns")))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	err = srv.Serve(ln)
	os.Remove(path)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func namespaces(list []store.Identity) []string {
	out := make([]string, 0, len(list))
	for _, id := range list {
		out = append(out, id.Namespace)
	}
	return out
}

func reply(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		status := http.StatusInternalServerError
		switch {
		case errors.Is(err, store.ErrExists):
			status = http.StatusConflict
		case errors.Is(err, store.ErrNotFound):
			status = http.StatusNotFound
		case errors.Is(err, ErrReserved), isBadName(err):
			status = http.StatusBadRequest
		}
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	json.NewEncoder(w).Encode(v)
}
