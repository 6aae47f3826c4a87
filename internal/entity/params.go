package entity

import (
	"encoding/json"

	"github.com/gust-faas/gust/whisk"
)

// Member is one parameter of an action, encoded once so that the arguments
// of its activations can be merged without decoding it.
type Member struct {
	Key     string
	Enc     []byte // `"key":value`
	Defined bool   // the value is not null
}

// Params are an action's non-init parameters, encoded for merging with the
// arguments of its activations.
type Params struct {
	Members []Member        // in order; the last definition of a key wins
	Args    json.RawMessage // {members...}: the arguments of an activation given none
}

// EncodeParams encodes the non-init parameters of kvs. A missing value is
// null.
func EncodeParams(kvs whisk.KeyValues) Params {
	var p Params
	size := 2
	for _, kv := range kvs {
		if kv.Init {
			continue
		}
		k, _ := json.Marshal(kv.Key) // a string: cannot fail
		v := []byte(kv.Value)
		if len(v) == 0 {
			v = []byte("null")
		}
		enc := make([]byte, 0, len(k)+1+len(v))
		enc = append(append(append(enc, k...), ':'), v...)
		m := Member{Key: kv.Key, Enc: enc, Defined: string(v) != "null"}
		replaced := false
		for i := range p.Members { // the last definition of a key wins
			if p.Members[i].Key == kv.Key {
				p.Members[i], replaced = m, true
			}
		}
		if !replaced {
			p.Members = append(p.Members, m)
		}
	}
	for _, m := range p.Members {
		size += len(m.Enc) + 1
	}
	args := make([]byte, 0, size)
	args = append(args, '{')
	for i, m := range p.Members {
		if i > 0 {
			args = append(args, ',')
		}
		args = append(args, m.Enc...)
	}
	p.Args = append(args, '}')
	return p
}
