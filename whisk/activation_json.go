package whisk

import (
	"strconv"

	"github.com/gust-faas/gust/internal/jsonstr"
)

// AppendJSON appends a's JSON, as encoding/json writes it with HTML escaping
// off (but for U+2028 and U+2029, left as they are), without reflection: a record is encoded on every blocking answer and
// again when it is stored, and encoding/json's reflection and its checking
// and compacting of each json.RawMessage were a tenth of gust up's CPU at 8
// clients. The raw values (the result, annotation values) are appended as
// they are, so they must be valid JSON, as the invoker makes them.
func (a *Activation) AppendJSON(b []byte) []byte {
	b = append(b, `{"namespace":`...)
	b = jsonstr.Append(b, a.Namespace)
	b = append(b, `,"name":`...)
	b = jsonstr.Append(b, a.Name)
	b = append(b, `,"version":`...)
	b = jsonstr.Append(b, a.Version)
	b = append(b, `,"subject":`...)
	b = jsonstr.Append(b, a.Subject)
	b = append(b, `,"activationId":`...)
	b = jsonstr.Append(b, a.ActivationID)
	b = append(b, `,"start":`...)
	b = strconv.AppendInt(b, a.Start, 10)
	b = append(b, `,"end":`...)
	b = strconv.AppendInt(b, a.End, 10)
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, a.Duration, 10)
	b = append(b, `,"statusCode":`...)
	b = strconv.AppendInt(b, int64(a.StatusCode), 10)
	b = append(b, `,"publish":`...)
	b = strconv.AppendBool(b, a.Publish)
	if a.Cause != "" {
		b = append(b, `,"cause":`...)
		b = jsonstr.Append(b, a.Cause)
	}
	b = append(b, `,"response":{"status":`...)
	b = jsonstr.Append(b, a.Response.Status)
	b = append(b, `,"statusCode":`...)
	b = strconv.AppendInt(b, int64(a.Response.StatusCode), 10)
	b = append(b, `,"success":`...)
	b = strconv.AppendBool(b, a.Response.Success)
	if len(a.Response.Result) > 0 {
		b = append(b, `,"result":`...)
		b = append(b, a.Response.Result...)
	}
	if a.Response.Size != 0 {
		b = append(b, `,"size":`...)
		b = strconv.AppendInt(b, int64(a.Response.Size), 10)
	}
	b = append(b, `},"logs":`...)
	if a.Logs == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, l := range a.Logs {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonstr.Append(b, l)
		}
		b = append(b, ']')
	}
	b = append(b, `,"annotations":`...)
	b = a.Annotations.appendJSON(b)
	return append(b, '}')
}

// appendJSON appends kvs as encoding/json writes them.
func (kvs KeyValues) appendJSON(b []byte) []byte {
	if kvs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range kvs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"key":`...)
		b = jsonstr.Append(b, kvs[i].Key)
		b = append(b, `,"value":`...)
		if len(kvs[i].Value) == 0 {
			b = append(b, "null"...)
		} else {
			b = append(b, kvs[i].Value...)
		}
		if kvs[i].Init {
			b = append(b, `,"init":true`...)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}
