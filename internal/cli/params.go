package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/gust-faas/gust/whisk"
)

// keyValues collects the parameters (or annotations) of the command line in
// order: each "-p KEY VALUE" (VALUE parsed as JSON, else taken as a string)
// and each "-P FILE" (a JSON object). A later key overrides an earlier one
// and keeps its place.
func keyValues(in *input, pairFlag, fileFlag, what string) (whisk.KeyValues, error) {
	var kvs whisk.KeyValues
	add := func(key string, value json.RawMessage) {
		for i := range kvs {
			if kvs[i].Key == key {
				kvs[i].Value = value
				return
			}
		}
		kvs = append(kvs, whisk.KeyValue{Key: key, Value: value})
	}
	for _, fv := range in.flags {
		switch fv.spec.long {
		case pairFlag:
			add(fv.vals[0], jsonOrString(fv.vals[1]))
		case fileFlag:
			data, err := readArtifact(fv.vals[0])
			if err != nil {
				return nil, err
			}
			obj, err := orderedObject(data)
			if err != nil {
				return nil, &failure{msg: fmt.Sprintf("Invalid %s argument '%s': %v", what, fv.vals[0], err), code: exitGeneral, usage: true}
			}
			for _, kv := range obj {
				add(kv.Key, kv.Value)
			}
		}
	}
	return kvs, nil
}

// jsonOrString is v itself when it is JSON, else v as a JSON string.
func jsonOrString(v string) json.RawMessage {
	if json.Valid([]byte(v)) {
		var buf bytes.Buffer
		if json.Compact(&buf, []byte(v)) == nil {
			return buf.Bytes()
		}
	}
	return jsonString(v)
}

// jsonString encodes s as a JSON string, leaving <, > and & as they are.
func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// orderedObject parses a JSON object, keeping its keys in order.
func orderedObject(data []byte) (whisk.KeyValues, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("the file must hold a JSON object")
	}
	var kvs whisk.KeyValues
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, v); err != nil {
			return nil, err
		}
		kvs = append(kvs, whisk.KeyValue{Key: key, Value: buf.Bytes()})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON object")
	}
	return kvs, nil
}

// argsObject renders parameters as the JSON object an invocation sends.
func argsObject(kvs whisk.KeyValues) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range kvs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(jsonString(kv.Key))
		b.WriteByte(':')
		b.Write(kv.Value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// readArtifact reads a file named on the command line.
func readArtifact(name string) ([]byte, error) {
	data, err := os.ReadFile(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &failure{msg: fmt.Sprintf("File '%s' is not a valid file or it does not exist", name), code: exitUsage, usage: true}
	case err != nil:
		return nil, &failure{msg: fmt.Sprintf("Unable to read the file '%s': %v", name, err), code: exitGeneral, usage: true}
	}
	return data, nil
}
