package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// flagsOf renders the parsed flags as "name=v1,v2" in order.
func flagsOf(in *input) []string {
	var out []string
	for _, f := range in.flags {
		out = append(out, f.spec.long+"="+strings.Join(f.vals, ","))
	}
	return out
}

func TestParse(t *testing.T) {
	cases := []struct {
		name    string
		argv    []string
		cmd     string
		args    []string
		flags   []string
		help    bool
		wantErr string
	}{
		{name: "two-arg param", argv: []string{"action", "invoke", "hello", "-p", "name", "Ann", "--param", "n", "{\"a\": 1}"},
			cmd: "gust action invoke", args: []string{"hello"}, flags: []string{"param=name,Ann", `param=n,{"a": 1}`}},
		{name: "param value looking like a flag", argv: []string{"action", "invoke", "x", "-p", "k", "-5", "-b"},
			cmd: "gust action invoke", args: []string{"x"}, flags: []string{"param=k,-5", "blocking=true"}},
		{name: "flags before and after args", argv: []string{"action", "create", "-t", "500", "x", "x.js", "--memory=512", "-l0"},
			cmd: "gust action create", args: []string{"x", "x.js"}, flags: []string{"timeout=500", "memory=512", "logsize=0"}},
		{name: "short with =", argv: []string{"action", "create", "x", "-c=4"},
			cmd: "gust action create", args: []string{"x"}, flags: []string{"concurrency=4"}},
		{name: "bool cluster", argv: []string{"action", "invoke", "x", "-br"},
			cmd: "gust action invoke", args: []string{"x"}, flags: []string{"blocking=true", "result=true"}},
		{name: "bool with value", argv: []string{"action", "invoke", "x", "--blocking=false"},
			cmd: "gust action invoke", args: []string{"x"}, flags: []string{"blocking=false"}},
		{name: "globals anywhere", argv: []string{"-i", "action", "--apihost", "h:1", "list", "-u", "a:b", "-v"},
			cmd: "gust action list", flags: []string{"insecure=true", "apihost=h:1", "auth=a:b", "verbose=true"}},
		{name: "local shadows global", argv: []string{"property", "get", "--auth", "-u", "x:y"},
			cmd: "gust property get", flags: []string{"auth=true", "auth=x:y"}},
		{name: "same letter, different commands", argv: []string{"activation", "get", "-l"},
			cmd: "gust activation get", flags: []string{"last=true"}},
		{name: "limit on list", argv: []string{"activation", "list", "-l", "5"},
			cmd: "gust activation list", flags: []string{"limit=5"}},
		{name: "double dash", argv: []string{"action", "get", "--", "-weird"},
			cmd: "gust action get", args: []string{"-weird"}},
		{name: "param file", argv: []string{"action", "invoke", "x", "-P", "p.json"},
			cmd: "gust action invoke", args: []string{"x"}, flags: []string{"param-file=p.json"}},
		{name: "help", argv: []string{"action", "create", "--help"}, cmd: "gust action create", help: true},
		{name: "help short", argv: []string{"action", "-h"}, cmd: "gust action", help: true},
		{name: "no command", argv: nil, cmd: "gust"},

		{name: "param without value", argv: []string{"action", "invoke", "x", "-p", "k"},
			wantErr: "Failed to parse arguments: The parameter arguments are invalid: Arguments for '-p' must be a key/value pair"},
		{name: "annotation without value", argv: []string{"action", "create", "x", "--annotation", "k"},
			wantErr: "The annotation arguments are invalid: Arguments for '--annotation' must be a key/value pair"},
		{name: "param with =", argv: []string{"action", "invoke", "x", "--param=k", "v"},
			wantErr: "Arguments for '--param' must be a key/value pair"},
		{name: "param file missing", argv: []string{"action", "invoke", "x", "-P"},
			wantErr: "An argument must be provided for '-P'"},
		{name: "unknown flag", argv: []string{"action", "list", "--bogus"}, wantErr: "unknown flag: --bogus"},
		{name: "unknown short", argv: []string{"action", "list", "-z"}, wantErr: `unknown shorthand flag: "z" in -z`},
		{name: "int flag not int", argv: []string{"action", "create", "x", "-t", "abc"},
			wantErr: `invalid argument "abc" for "-t, --timeout" flag`},
		{name: "int flag missing", argv: []string{"action", "create", "x", "--timeout"},
			wantErr: "flag needs an argument: --timeout"},
		{name: "bad bool", argv: []string{"action", "invoke", "x", "--blocking=maybe"},
			wantErr: `invalid argument "maybe" for "-b, --blocking" flag`},
		{name: "unknown command", argv: []string{"actoin", "list"}, wantErr: `unknown command "actoin" for "gust"`},
		{name: "unknown subcommand", argv: []string{"action", "frobnicate"}, wantErr: `unknown command "frobnicate" for "gust action"`},
		{name: "local flag of another command", argv: []string{"action", "list", "--blocking"}, wantErr: "unknown flag: --blocking"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, err := parse(newRoot(), tc.argv)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v; want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := in.cmd.path(); got != tc.cmd {
				t.Errorf("command = %q; want %q", got, tc.cmd)
			}
			if !reflect.DeepEqual(in.args, tc.args) {
				t.Errorf("args = %q; want %q", in.args, tc.args)
			}
			if got := flagsOf(in); !reflect.DeepEqual(got, tc.flags) {
				t.Errorf("flags = %q; want %q", got, tc.flags)
			}
			if in.help != tc.help {
				t.Errorf("help = %v; want %v", in.help, tc.help)
			}
		})
	}
}

func TestKeyValues(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "p.json")
	os.WriteFile(file, []byte(`{"z": 1, "name": "from file", "obj": {"b": [1, 2]}}`), 0o644)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`[1, 2]`), 0o644)
	trailing := filepath.Join(dir, "trailing.json")
	os.WriteFile(trailing, []byte(`{"a": 1} {"b": 2}`), 0o644)

	cases := []struct {
		name    string
		argv    []string
		want    string // the invocation arguments
		wantErr string
	}{
		{name: "none", want: `{}`},
		{name: "json values", argv: []string{"-p", "n", "42", "-p", "b", "true", "-p", "o", `{"x": [1, "y"]}`, "-p", "s", `"quoted"`, "-p", "null", "null"},
			want: `{"n":42,"b":true,"o":{"x":[1,"y"]},"s":"quoted","null":null}`},
		{name: "strings", argv: []string{"-p", "s", "hello world", "-p", "q", `say "hi"`, "-p", "e", ""},
			want: `{"s":"hello world","q":"say \"hi\"","e":""}`},
		{name: "file then flag overrides in place", argv: []string{"-P", file, "-p", "name", "Ann"},
			want: `{"z":1,"name":"Ann","obj":{"b":[1,2]}}`},
		{name: "flag then file", argv: []string{"-p", "name", "Ann", "-P", file},
			want: `{"name":"from file","z":1,"obj":{"b":[1,2]}}`},
		{name: "file not an object", argv: []string{"-P", bad}, wantErr: "Invalid parameter argument '" + bad + "'"},
		{name: "file with trailing data", argv: []string{"-P", trailing}, wantErr: "unexpected data"},
		{name: "missing file", argv: []string{"-P", filepath.Join(dir, "nope.json")}, wantErr: "is not a valid file or it does not exist"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, err := parse(newRoot(), append([]string{"action", "invoke", "x"}, tc.argv...))
			if err != nil {
				t.Fatal(err)
			}
			kvs, err := keyValues(in, "param", "param-file", "parameter")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v; want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := argsObject(kvs)
			if string(got) != tc.want {
				t.Errorf("args = %s; want %s", got, tc.want)
			}
			if !json.Valid(got) {
				t.Errorf("args %s are not valid JSON", got)
			}
		})
	}
}

func TestExecOf(t *testing.T) {
	js := writeFile(t, "hello.js", []byte("function main() {}"))
	py := writeFile(t, "hello.py", []byte("def main(a): return a"))
	goSrc := writeFile(t, "main.go", []byte("package main"))
	zip := writeFile(t, "action.zip", []byte("PK\x03\x04 zipped"))
	elf := writeFile(t, "exec", []byte("\x7fELF\x02\x01\x01\x00binary"))
	script := writeFile(t, "run.sh", []byte("#!/bin/sh\necho '{}'\n"))
	txt := writeFile(t, "notes.txt", []byte("text"))

	cases := []struct {
		name       string
		file       string
		flags      []string
		kind, main string
		binary     bool
		image      string
		wantErr    string
	}{
		{name: "node", file: js, kind: "nodejs:default"},
		{name: "python", file: py, kind: "python:default", flags: []string{"--main", "handler"}, main: "handler"},
		{name: "go", file: goSrc, kind: "go:default"},
		{name: "explicit kind wins", file: js, flags: []string{"--kind", "nodejs:20"}, kind: "nodejs:20"},
		{name: "zip with kind", file: zip, flags: []string{"--kind", "python:3"}, kind: "python:3", binary: true},
		{name: "zip needs kind", file: zip, wantErr: "creating an action from a .zip artifact requires specifying the action kind explicitly"},
		{name: "native zip", file: zip, flags: []string{"--native"}, kind: "blackbox", binary: true, image: "openwhisk/dockerskeleton"},
		{name: "native executable", file: elf, flags: []string{"--native"}, kind: "blackbox", binary: true, image: "openwhisk/dockerskeleton"},
		{name: "native script", file: script, flags: []string{"--native"}, kind: "blackbox", image: "openwhisk/dockerskeleton"},
		{name: "executable without native", file: elf, wantErr: "for an executable, use --native"},
		{name: "unknown extension", file: txt, wantErr: "'.txt' is not a supported action runtime"},
		{name: "missing file", file: "/nonexistent/a.js", wantErr: "File '/nonexistent/a.js' is not a valid file or it does not exist"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, err := parse(newRoot(), append([]string{"action", "create", "x", tc.file}, tc.flags...))
			if err != nil {
				t.Fatal(err)
			}
			exec, err := execOf(in, tc.file)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v; want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if exec.Kind != tc.kind || exec.Main != tc.main || exec.Binary != tc.binary || exec.Image != tc.image {
				t.Errorf("exec = %+v; want kind %q main %q binary %v image %q", exec, tc.kind, tc.main, tc.binary, tc.image)
			}
			data, _ := os.ReadFile(tc.file)
			if tc.binary {
				if exec.Code == string(data) || exec.Code == "" {
					t.Errorf("binary code not base64 encoded: %q", exec.Code)
				}
			} else if exec.Code != string(data) {
				t.Errorf("code = %q; want %q", exec.Code, data)
			}
		})
	}
}

func TestQualify(t *testing.T) {
	a := &app{set: settings{namespace: "_"}}
	cases := []struct {
		in                          string
		ns, pkg, entity, entityName string
		bad                         bool
	}{
		{in: "hello", ns: "_", entity: "hello", entityName: "hello"},
		{in: "pkg/hello", ns: "_", pkg: "pkg", entity: "hello", entityName: "pkg/hello"},
		{in: "/guest/hello", ns: "guest", entity: "hello", entityName: "hello"},
		{in: "/guest/pkg/hello", ns: "guest", pkg: "pkg", entity: "hello", entityName: "pkg/hello"},
		{in: "guest/pkg/hello", ns: "guest", pkg: "pkg", entity: "hello", entityName: "pkg/hello"},
		{in: "/guest", ns: "guest"},
		{in: "", bad: true},
		{in: "/", bad: true},
		{in: "//x", bad: true},
		{in: "/a/b/c/d", bad: true},
		{in: "a/", bad: true},
	}
	for _, tc := range cases {
		q, err := a.qualify(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("qualify(%q) = %+v; want an error", tc.in, q)
			}
			continue
		}
		want := qname{namespace: tc.ns, pkg: tc.pkg, entity: tc.entity, entityName: tc.entityName}
		if err != nil || q != want {
			t.Errorf("qualify(%q) = %+v, %v; want %+v", tc.in, q, err, want)
		}
	}
	a.set.namespace = "mine"
	if q, _ := a.qualify("x"); q.full() != "/mine/x" {
		t.Errorf("with NAMESPACE=mine, x is %s", q.full())
	}
}
