package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gust-faas/gust/client"
	"github.com/gust-faas/gust/internal/admin"
	"github.com/gust-faas/gust/internal/gcfloor"
)

// Main is `gust bench`: it returns the process exit code: 0 when every
// selected scenario ran (whatever the numbers), 1 when one could not run or
// an output failed, 2 for a bad command line.
func Main(args []string) int {
	cfg, err := ParseConfig(args, os.Stderr)
	if errors.Is(err, errHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gust bench:", err)
		return 2
	}
	// The load generator shares the CPUs with what it measures: it collects
	// garbage as rarely as the platform does (see package gcfloor).
	gcfloor.Start(gcfloor.Default)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	prog := newProgress(os.Stderr, isTerminal(os.Stderr), cfg.Quiet)
	rep, runErr := runRepeated(ctx, cfg, "gust bench "+quoteArgs(args), prog, os.Stdout)
	prog.Close()
	code := 0
	if runErr != nil {
		fmt.Fprintln(os.Stderr, "gust bench:", runErr)
		code = 1
	}
	if rep == nil {
		return 1
	}
	if err := rep.WriteTables(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gust bench:", err)
		code = 1
	}
	if len(rep.Repeats) > 0 {
		fmt.Println()
		if err := writeSpreads(os.Stdout, rep.Repeats); err != nil {
			fmt.Fprintln(os.Stderr, "gust bench:", err)
			code = 1
		}
	}
	if code != 0 || ctx.Err() != nil {
		// An incomplete run is written out, but not recorded as the latest
		// numbers.
		code = 1
		if cfg.Record != "" {
			fmt.Fprintf(os.Stderr, "gust bench: the run is incomplete: not recording it in %s\n", cfg.Record)
			cfg.Record = ""
		}
	}
	if err := writeOutputs(cfg, rep, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gust bench:", err)
		return 1
	}
	return code
}

// writeOutputs writes the JSON report, the plots and the RESULTS.md update.
func writeOutputs(cfg Config, rep *Report, out io.Writer) error {
	var errs []error
	if cfg.JSON != "" {
		if err := rep.WriteJSON(cfg.JSON); err != nil {
			errs = append(errs, err)
		} else {
			fmt.Fprintf(out, "wrote %s\n", cfg.JSON)
		}
	}
	if cfg.Plots != "" {
		paths, err := rep.WritePlots(cfg.Plots)
		if err != nil {
			errs = append(errs, err)
		}
		if len(paths) > 0 {
			fmt.Fprintf(out, "wrote %d plots in %s\n", len(paths), cfg.Plots)
		}
	}
	if cfg.Record != "" {
		if err := RecordResults(cfg.Record, rep); err != nil {
			errs = append(errs, err)
		} else {
			fmt.Fprintf(out, "recorded in %s\n", cfg.Record)
		}
	}
	return errors.Join(errs...)
}

// runRepeated runs the bench cfg.Repeat times, stopping at the first run
// that fails. After each run but the last it prints that run's targets to
// out. It returns the last run's report, whose Repeats sum up the targets
// of the runs that completed (two or more).
func runRepeated(ctx context.Context, cfg Config, command string, prog *progress, out io.Writer) (*Report, error) {
	var reps []*Report
	for i := 1; ; i++ {
		if cfg.Repeat > 1 {
			prog.Logf("run %d of %d", i, cfg.Repeat)
		}
		rep, err := runBench(ctx, cfg, command, prog)
		if err == nil && rep != nil {
			reps = append(reps, rep) // a run cut short is no sample
		}
		if err != nil || rep == nil || i == cfg.Repeat || ctx.Err() != nil {
			if rep != nil && len(reps) > 1 {
				rep.Repeats = spreads(reps)
			}
			return rep, err
		}
		var b strings.Builder
		fmt.Fprintf(&b, "run %d of %d, %s:\n", i, cfg.Repeat, rep.Date.Format("15:04:05 MST"))
		if err := writeChecks(&b, rep.Checks); err != nil {
			return rep, err
		}
		b.WriteString("\n")
		if err := prog.Above(out, b.String()); err != nil {
			return rep, err
		}
	}
}

// runBench measures the floor and runs the selected scenarios. The report holds
// whatever was measured, also when an error is returned.
func runBench(ctx context.Context, cfg Config, command string, prog *progress) (*Report, error) {
	rep := &Report{
		Tool: "gust bench", Version: ReportVersion, Date: time.Now().UTC().Truncate(time.Second),
		Command: command, Commit: commit(cfg.Record), Machine: machine(),
	}
	r := &runner{cfg: cfg, prog: prog, prefix: "bench-" + strconv.FormatInt(time.Now().Unix()%1e6, 36)}
	if cfg.Floor {
		rep.Floor = r.measureFloor(ctx)
		r.floor = rep.Floor
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
	}
	if len(cfg.Scenarios) == 0 {
		return rep, nil
	}

	apihost, auth := cfg.APIHost, cfg.Auth
	if auth == "" {
		auth = admin.GuestAuth
	}
	var up *upProcess
	if apihost == "" {
		bin, err := gustBinary(cfg.Gust)
		if err != nil {
			return rep, err
		}
		prog.Scenario("gust up")
		prog.Step("starting " + bin + " up")
		up, err = startUp(ctx, bin, cfg.upMemory(), cfg.Sandbox, cfg.upArgs(), time.Minute)
		if err != nil {
			return rep, err
		}
		apihost = up.apihost
		r.gustPID = up.cmd.Process.Pid
		rep.Target = TargetInfo{APIHost: apihost, Started: true, Binary: bin, Args: up.args}
		prog.Logf("started gust up at %s (log: %s)", apihost, up.logPath)
	} else {
		rep.Target = TargetInfo{APIHost: apihost}
	}
	base, err := client.BaseURL(apihost)
	if err == nil {
		r.ep, err = newEndpoint(base, auth, cfg.Insecure)
	}
	if err == nil {
		r.api, err = client.New(client.Config{APIHost: base, Auth: auth, Insecure: cfg.Insecure})
	}
	if err == nil {
		rep.Target.APIHost = base
		_, err = r.api.ListActions(ctx, "", client.ListOptions{Limit: 1})
		if err != nil {
			err = fmt.Errorf("%w: %s: %v", ErrNotReady, base, err)
		}
	}
	if err == nil {
		prog.Scenario("ready")
		prog.Step("waiting for a first successful invocation")
		err = r.awaitInvoker(ctx, time.Minute)
		if up != nil {
			rep.Target.ReadyTime = time.Since(up.t0)
		}
	}
	var errs []error
	if err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, r.scenarios(ctx, rep))
		if up == nil {
			prog.Scenario("cleanup")
			prog.Step("deleting the benchmark's actions")
			cleanCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			r.cleanup(cleanCtx)
			cancel()
		}
	}
	if up != nil {
		prog.Scenario("gust up")
		prog.Step("stopping")
		if !up.Alive() {
			errs = append(errs, fmt.Errorf("gust up died during the run; its log:\n%s", up.logTail(40)))
		} else if errors.Join(errs...) != nil {
			errs = append(errs, fmt.Errorf("the end of gust up's log:\n%s", up.logTail(10)))
		}
		took, err := up.Stop()
		if err != nil {
			errs = append(errs, err)
		}
		rep.Target.StartTime, rep.Target.StopTime = up.started, took
	}
	rep.noteNoise()
	rep.check(cfg.ManyClients)
	return rep, errors.Join(errs...)
}

// scenarios runs the selected scenarios in order; one that cannot run is
// reported and the others still run.
func (r *runner) scenarios(ctx context.Context, rep *Report) error {
	funcs := map[string]func(context.Context) ([]Result, error){
		"warm": r.warm, "throughput": r.throughput, "cold": r.cold,
		"many": r.many, "burst": r.burst, "mixed": r.mixed,
		"prewarm": r.prewarm, "resume": r.resume, "density": r.density,
	}
	var errs []error
	for _, name := range r.cfg.Scenarios {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.prog.Scenario(name)
		res, err := funcs[name](ctx)
		rep.Scenarios = append(rep.Scenarios, res...)
		if err != nil {
			errs = append(errs, fmt.Errorf("scenario %s: %w", name, err))
			r.prog.Logf("scenario %s: %v", name, err)
		}
	}
	if ctx.Err() != nil {
		errs = append(errs, ctx.Err())
	}
	return errors.Join(errs...)
}

// quoteArgs renders arguments for a shell.
func quoteArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?;&|<>()") {
			a = strconv.Quote(a)
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

// commit is the VCS revision the binary was built from ("+dirty" when the
// tree had changes), else the git HEAD of the working directory or of the
// directory of near (the RESULTS.md being recorded), else "unknown".
func commit(near string) string {
	rev, dirty := "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if rev == "" {
		dirs := []string{"."}
		if near != "" {
			dirs = append(dirs, filepath.Dir(near))
		}
		for _, dir := range dirs {
			out, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
			if err != nil {
				continue
			}
			rev = strings.TrimSpace(string(out))
			st, err := exec.Command("git", "-C", dir, "status", "--porcelain", "--untracked-files=no").Output()
			dirty = err == nil && len(strings.TrimSpace(string(st))) > 0
			break
		}
		if rev == "" {
			return "unknown"
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "+dirty"
	}
	return rev
}

// machine describes this machine.
func machine() Machine {
	m := Machine{NProc: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS, CPU: "unknown", Kernel: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}
