package gopool

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// deep recurses n frames with 1 kB of stack each.
func deep(n int) int {
	var pad [1024]byte
	pad[n%len(pad)] = byte(n)
	if n == 0 {
		return int(pad[0])
	}
	return deep(n-1) + int(pad[n%len(pad)])
}

func TestReusesGoroutines(t *testing.T) {
	p := New(time.Minute)
	ids := make(chan uint64, 10)
	for range 10 {
		done := make(chan struct{})
		p.Go(func() {
			ids <- goid()
			close(done)
		})
		<-done
		for p.idleCount() == 0 { // the worker parks after f returns
			runtime.Gosched()
		}
	}
	close(ids)
	first := <-ids
	for id := range ids {
		if id != first {
			t.Fatalf("sequential calls ran on goroutines %d and %d, want one reused", first, id)
		}
	}
}

func TestNeverWaitsForABusyOne(t *testing.T) {
	p := New(time.Minute)
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(4)
	for range 4 {
		p.Go(func() {
			started.Done()
			<-release
		})
	}
	started.Wait() // all four run at once: none waited for another
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for p.idleCount() != 4 {
		if time.Now().After(deadline) {
			t.Fatalf("idleCount() = %d after the four returned, want 4", p.idleCount())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestIdleOnesEnd(t *testing.T) {
	p := New(20 * time.Millisecond)
	before := runtime.NumGoroutine()
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		p.Go(func() { deep(8); wg.Done() })
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for p.idleCount() > 0 || runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("after the idle timeout: %d idle, %d goroutines (%d before)", p.idleCount(), runtime.NumGoroutine(), before)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A retired pool still runs work.
	done := make(chan struct{})
	p.Go(func() { close(done) })
	<-done
}

// goid is the running goroutine's id, read from its stack trace header.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	var id uint64
	for _, c := range b[len("goroutine "):] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}

// BenchmarkDeepCall: a call that needs 16 kB of stack, on a new goroutine
// each time against a pooled one.
func BenchmarkDeepCall(b *testing.B) {
	done := make(chan struct{})
	f := func() { deep(16); done <- struct{}{} }
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			go f()
			<-done
		}
	})
	b.Run("pool", func(b *testing.B) {
		p := New(time.Minute)
		for b.Loop() {
			p.Go(f)
			<-done
		}
	})
}
