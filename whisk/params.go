package whisk

import "encoding/json"

// KeyValue is one parameter or annotation. Init marks a parameter that goes
// to /init as an environment variable instead of into the arguments.
type KeyValue struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
	Init  bool            `json:"init,omitempty"`
}

// KeyValues is OpenWhisk's list form of parameters and annotations.
type KeyValues []KeyValue

// Get returns the raw value for key, or nil.
func (kv KeyValues) Get(key string) json.RawMessage {
	for _, p := range kv {
		if p.Key == key {
			return p.Value
		}
	}
	return nil
}

// Bool reports whether key holds a truthy value (true, a non-empty string
// other than "false", or a non-zero number), as OpenWhisk reads annotations.
func (kv KeyValues) Bool(key string) bool {
	v := kv.Get(key)
	if v == nil {
		return false
	}
	var x any
	if json.Unmarshal(v, &x) != nil {
		return false
	}
	switch t := x.(type) {
	case bool:
		return t
	case string:
		return t != "" && t != "false"
	case float64:
		return t != 0
	}
	return false
}

// Set replaces key's value, or appends it.
func (kv KeyValues) Set(key string, value any) KeyValues {
	raw, _ := json.Marshal(value)
	for i := range kv {
		if kv[i].Key == key {
			kv[i].Value = raw
			return kv
		}
	}
	return append(kv, KeyValue{Key: key, Value: raw})
}

// Delete removes key.
func (kv KeyValues) Delete(key string) KeyValues {
	out := kv[:0]
	for _, p := range kv {
		if p.Key != key {
			out = append(out, p)
		}
	}
	return out
}

// Merge returns kv overridden by over, key by key, in a new slice.
func (kv KeyValues) Merge(over KeyValues) KeyValues {
	out := append(KeyValues(nil), kv...)
	for _, p := range over {
		replaced := false
		for i := range out {
			if out[i].Key == p.Key {
				out[i] = p
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, p)
		}
	}
	return out
}

// Args returns the non-init parameters as an arguments object.
func (kv KeyValues) Args() map[string]json.RawMessage {
	m := make(map[string]json.RawMessage, len(kv))
	for _, p := range kv {
		if !p.Init {
			m[p.Key] = p.Value
		}
	}
	return m
}

// InitEnv returns the init parameters as /init environment strings: strings
// as they are, other JSON values in their JSON form.
func (kv KeyValues) InitEnv() map[string]string {
	var m map[string]string
	for _, p := range kv {
		if !p.Init {
			continue
		}
		if m == nil {
			m = map[string]string{}
		}
		var s string
		if json.Unmarshal(p.Value, &s) == nil {
			m[p.Key] = s
		} else {
			m[p.Key] = string(p.Value)
		}
	}
	return m
}
